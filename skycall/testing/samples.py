"""Signaling payloads that look like a browser's, for tests that relay them (the server checks their shape,
not their meaning)."""

from __future__ import annotations

OFFER = {'type': 'offer', 'sdp': 'v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n'}
ANSWER = {'type': 'answer', 'sdp': 'v=0\r\no=- 99 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n'}
CANDIDATE = {'candidate': 'candidate:1 1 udp 2122260223 192.0.2.7 54400 typ host',
             'sdpMid': '0', 'sdpMLineIndex': 0, 'usernameFragment': 'a1b2'}
