"""The echo test line and the Python bot, with real Chromium: see yourself, meet a bot, find the line busy.

Chromium, the echo peer and the bot reach each other here only over loopback and this machine's
private addresses, which the server's Python peers and the bot refuse to probe by default (an
outsider could otherwise make them probe the server's own LAN): these tests allow private networks.
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from skycall.testing.browser import Person
from skycall.testing.call_steps import answer, expect_chat, expect_connected_to, say, start_call
from skycall.testing.net import new_address
from skycall.testing.processes import ROOT, SkyCallProcess

BUSY = 'The test line is busy, try again in a minute'
ROUND_TRIP = re.compile(r'Round trip: \d+ ms')
PRIVATE = {'allow_private_candidates': 'true'}  # see the module's docstring


@pytest.fixture(scope='module')
def server() -> Iterator[SkyCallProcess]:
    server = SkyCallProcess(**PRIVATE).start()
    yield server
    server.stop()


def open_test_call(page: Page) -> None:
    """From the home page, press "Test call"."""
    page.goto('/', wait_until='domcontentloaded')
    page.get_by_role('button', name='Test call').click()
    page.wait_for_url(re.compile(r'/echo$'))


def test_the_test_call_sends_your_own_video_back_and_shows_the_delay(person):
    ada = person('Ada')
    open_test_call(ada.page)

    expect(ada.page.get_by_text('You should see and hear yourself')).to_be_visible()
    expect_connected_to(ada.page, 'Test line')  # the picture that comes back decodes frame after frame
    mine, echoed = (mean_colour(ada.page, label) for label in ('Your camera', 'Camera of Test line'))
    assert max(abs(a - b) for a, b in zip(mine, echoed, strict=True)) < 40, (mine, echoed)  # and it is hers
    expect(ada.page.get_by_text(ROUND_TRIP)).to_be_visible(timeout=15_000)
    expect(ada.page.get_by_text(re.compile(r'\d:\d\d left'))).to_be_visible()

    ada.page.get_by_role('button', name='End test').click()
    expect(ada.page.get_by_text('The test call has ended')).to_have_count(2)  # the status and the dialog
    expect(ada.page.get_by_label('Camera of Test line')).to_have_count(0)


def test_a_browser_and_a_bot_see_each_other_and_chat(person, server, tmp_path):
    ada = person('Ada')
    room = start_call(ada.page, 'Ada')
    recording = tmp_path / 'robot.mkv'
    with BotProcess(f'{server.url}/dial/{room}', '--allow-private-candidates', '--name', 'Robot',
                    '--say', 'Beep from the bot', '--record', str(recording)) as robot:
        robot.expect_line('Knocking')
        answer(ada.page, 'Robot')
        expect_connected_to(ada.page, 'Robot')  # the bot's test pattern decodes in the browser
        robot.expect_line('Receiving video from Ada')  # and the browser's camera and sound reach the bot
        robot.expect_line('Receiving audio from Ada')
        expect_chat(ada.page, 'Robot', 'Beep from the bot')
        say(ada.page, 'Hello bot')
        robot.expect_line('Ada: Hello bot')

        ada.page.get_by_role('button', name='Hang up').click()
        assert robot.wait() == 0
        robot.expect_line('Ada hung up.')
    assert recorded_frames(recording) == {'audio': True, 'video': True}, robot.output()  # and recorded both


@pytest.fixture(scope='module')
def one_line_server() -> Iterator[SkyCallProcess]:
    server = SkyCallProcess(echo_max='1', **PRIVATE).start()
    yield server
    server.stop()


def test_the_line_is_busy_for_others_a_reload_still_works_and_closing_frees_the_seat(browser: Browser,
                                                                                       one_line_server):
    ada = Person(browser.new_context(base_url=one_line_server.url), 'Ada')
    try:
        ada.page.goto('/echo', wait_until='domcontentloaded')
        expect(ada.page.get_by_role('status')).to_have_text('Connected', timeout=20_000)
        assert busy_for_someone_else(one_line_server)  # Grace, from another address

        ada.page.reload(wait_until='domcontentloaded')  # Ada's own address: her new page replaces her session
        expect(ada.page.get_by_text(BUSY)).to_have_count(0)
        expect(ada.page.get_by_role('status')).to_have_text('Connected', timeout=20_000)
        assert busy_for_someone_else(one_line_server)

        ada.page.close()  # closing the page ends the session and frees its seat
        deadline = time.monotonic() + 20
        while busy_for_someone_else(one_line_server):
            assert time.monotonic() < deadline, 'the seat stayed taken after the page was closed'
            time.sleep(0.2)  # Grace trying again a moment later
        assert not ada.errors
    finally:
        ada.context.close()


def busy_for_someone_else(server: SkyCallProcess) -> bool:
    """Whether /echo, loaded from an address nobody else uses, says the line is busy (it says so at once)."""
    transport = httpx.HTTPTransport(local_address=new_address())
    with httpx.Client(base_url=server.url, transport=transport, timeout=10, trust_env=False) as client:
        response = client.get('/echo')
    assert response.status_code == 200
    return BUSY in response.text


def mean_colour(page: Page, label: str) -> list[float]:
    """The average red, green and blue of what a video element shows now."""
    return page.get_by_label(label).evaluate("""(video) => {
        const canvas = Object.assign(document.createElement('canvas'), {width: 64, height: 48});
        const context = canvas.getContext('2d');
        context.drawImage(video, 0, 0, 64, 48);
        const data = context.getImageData(0, 0, 64, 48).data;
        const sums = [0, 0, 0];
        for (let i = 0; i < data.length; i += 4) for (let c = 0; c < 3; c++) sums[c] += data[i + c];
        return sums.map((sum) => sum / (data.length / 4));
    }""")


class BotProcess:
    """``python -m skycall.bot ...`` with its output collected line by line."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen([sys.executable, '-m', 'skycall.bot', *args], cwd=ROOT, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def __enter__(self) -> BotProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def expect_line(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.seen):
            try:
                self.seen.append(self.lines.get(timeout=max(deadline - time.monotonic(), 0.01)))
            except queue.Empty:
                raise AssertionError(f'the bot never printed {text!r}; it printed {self.seen}') from None

    def output(self) -> str:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return '\n'.join(self.seen)

    def wait(self, timeout: float = 20) -> int:
        return self.process.wait(timeout=timeout)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip('\n'))


def recorded_frames(path: Path) -> dict[str, bool]:
    with av.open(str(path)) as container:
        kinds = {stream.type for stream in container.streams}
        frames = {kind: False for kind in kinds}
        for packet in container.demux():
            if packet.size:
                frames[packet.stream.type] = True
    return frames
