"""The echo test line: a server-side aiortc peer that sends people their own camera and microphone back."""

from .line import EchoLine, EchoSession, EchoUnavailable

__all__ = ['EchoLine', 'EchoSession', 'EchoUnavailable']
