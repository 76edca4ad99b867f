"""A SkyCall participant in Python (aiortc): the ``skycall-bot`` command and the echo test line's peer.

client.py runs a call (Bot), signaling.py talks to the server like a browser, peers.py holds one
RTCPeerConnection per remote participant, media.py and pattern.py make what the bot sends, cli.py
is the command. Import from those modules: this package itself loads nothing (aiortc is big).
"""
