"""``skycall-bot`` / ``python -m skycall.bot``: join a SkyCall room from the command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from .client import Bot, Outcome
from .media import FileMedia, MediaSource
from .pattern import SyntheticMedia
from .signaling import BotError, parse_target

# Exit statuses, so that scripts (deployment checks, load tests) can tell failures apart.
EXIT = {'usage': 2, 'unreachable': 3, 'no-such-room': 4, 'call-failed': 5, 'refused': 6}

EXAMPLES = """examples:
  skycall-bot http://127.0.0.1:8080/dial/Jb3p0m9kq4T1bYxZz2c1vA --name Robot --admit
  skycall-bot http://127.0.0.1:8080 Jb3p0m9kq4T1bYxZz2c1vA --say "hello" --duration 30 --record call.mp4

exit status: 0 after a hang-up, --duration or Ctrl-C; 2 bad arguments; 3 server unreachable or
connection lost; 4 no such room; 5 the call failed (no network path, timeout, malformed signal);
6 refused (not let in, room full, rate-limited, joined again elsewhere)."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='skycall-bot', description='A headless SkyCall participant: sends a test '
                                'pattern and a tone (or a media file), prints the chat.', epilog=EXAMPLES,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('target', help='an invite link (http(s)://host:port/dial/<room>) or a server URL')
    p.add_argument('room', nargs='?', help='the room id, when TARGET is a server URL')
    p.add_argument('--name', default='SkyCall bot', help='display name (default: %(default)s)')
    p.add_argument('--play', metavar='FILE', help='send this media file instead of the test pattern and tone')
    p.add_argument('--loop', action='store_true', help='with --play: start the file again at its end')
    p.add_argument('--record', metavar='FILE', help='save what the first other participant sends (.mp4, .mkv, .wav)')
    p.add_argument('--say', metavar='TEXT', action='append', default=[],
                   help='send this chat line once connected (repeatable)')
    p.add_argument('--admit', action='store_true', help='let in whoever knocks while the bot is in the call')
    p.add_argument('--ring-timeout', type=float, default=30.0, metavar='SECONDS',
                   help='when knocking, give up if nobody lets the bot in by then (default: %(default)s)')
    p.add_argument('--duration', type=float, metavar='SECONDS', help='leave after this many seconds')
    p.add_argument('--connect-timeout', type=float, default=20.0, metavar='SECONDS',
                   help='give up on a peer connection not up after this long (default: %(default)s)')
    p.add_argument('--ice-server', action='append', default=[], metavar='URL',
                   help='a STUN or TURN URL (repeatable; default: none, host candidates only)')
    p.add_argument('--allow-private-candidates', action='store_true',
                   help='also send connectivity checks to the LAN, loopback and other non-public addresses '
                        'the others list (default: public addresses only)')
    p.add_argument('--source-address', metavar='IP', help='connect to the server from this local address')
    p.add_argument('--size', default='640x480', help='test pattern size (default: %(default)s)')
    p.add_argument('--fps', type=float, default=15.0, help='test pattern frame rate (default: %(default)s)')
    p.add_argument('-v', '--verbose', action='store_true', help='log what aiortc and socket.io do')
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format='%(levelname)s %(name)s: %(message)s')
    try:
        server, room = parse_target(args.target, args.room)
        width, height = _size(args.size)
        media: MediaSource = FileMedia(args.play, loop=args.loop) if args.play else \
            SyntheticMedia(width, height, args.fps)
    except BotError as error:
        return _finish(Outcome(ok=False, kind=error.kind, message=error.message))
    except (OSError, ValueError) as error:  # av raises subclasses of OSError for unreadable files
        return _finish(Outcome(ok=False, kind='usage', message=f'Cannot use {args.play!r}: {error}'))
    bot = Bot(server, room, args.name, media, ice_servers=args.ice_server, say=args.say,
              duration=args.duration, record=args.record, connect_timeout=args.connect_timeout,
              ring_timeout=args.ring_timeout, admit=(lambda _peer: True) if args.admit else None,
              local_address=args.source_address, allow_private_candidates=args.allow_private_candidates,
              out=lambda line: print(line, flush=True))
    print(f'Joining room {room} on {server} as {args.name}…', flush=True)
    return _finish(asyncio.run(_run(bot)))


async def _run(bot: Bot) -> Outcome:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, bot.stop, 'Interrupted: left the call.')
    return await bot.run()


def _finish(outcome: Outcome) -> int:
    if outcome.ok:
        print(outcome.message, flush=True)
        return 0
    print(f'skycall-bot: {outcome.message}', file=sys.stderr, flush=True)
    return EXIT.get(outcome.kind, 1)


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split('x'))
    except ValueError:
        raise BotError('usage', f'--size must look like 640x480, not {text!r}') from None
    if not (16 <= width <= 3840 and 16 <= height <= 2160):
        raise BotError('usage', '--size must be between 16x16 and 3840x2160')
    return width, height
