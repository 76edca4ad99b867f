"""peer.js's negotiation rule in the real browser: two PeerLinks back to back in one page.

The rule (docs/protocol.md, "Who offers"): only the offerer ever offers; the answerer asks for an
offer with {renegotiate: true}. So offers never cross, no request is lost, and no offer is made
without one. The page imports peer.js from where NiceGUI serves the element's modules (its import
map names them "skycall/..."); an in-page send() carries each message to the other link after a
task, like a network would, and records it.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

WIRE = """async () => {
  const { PeerLink } = await import("skycall/peer.js");
  const media = navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  // In order: descriptions when sent, renegotiate messages when the offerer acts on them (signals are
  // applied one after the other), and the offerer's own renegotiation needs ("request"). Candidates
  // are carried, not recorded.
  const log = [];
  const links = {};
  const make = (me, other, offerer) => new PeerLink({
    id: other, name: other, offerer, iceServers: [], media,
    send: (payload) => {
      if (payload.description) log.push(`${me}:${payload.description.type}`);
      setTimeout(() => links[other].handle(JSON.parse(JSON.stringify(payload))), 0);
    },
    onTrack: () => {}, onState: () => {},
  });
  links.offerer = make("offerer", "answerer", true);
  links.answerer = make("answerer", "offerer", false);
  const apply = links.offerer.apply.bind(links.offerer);
  links.offerer.apply = (payload) => {
    if (payload.renegotiate) log.push("answerer:renegotiate");
    return apply(payload);
  };
  // The offerer's own needs, recorded before PeerLink's handler acts on them.
  const pc = links.offerer.pc, needed = pc.onnegotiationneeded;
  pc.onnegotiationneeded = (event) => {
    log.push("offerer:request");
    needed.call(pc, event);
  };
  // When the offerer starts making an offer: a request that came before is served by it, one that
  // came while it was being made is not (the rule owes another offer after the answer).
  const setLocal = pc.setLocalDescription.bind(pc);
  pc.setLocalDescription = (...args) => {
    if (pc.signalingState === "stable") log.push("offerer:offer-start");
    return setLocal(...args);
  };
  window.negotiation = { links, log };
}"""

# Nothing left to negotiate: both connected and stable, the offerer neither offering nor owing an
# offer, and every transceiver's negotiated direction what both sides' directions now call for.
SETTLED = """() => {
  const { offerer, answerer } = window.negotiation.links;
  const sends = (d) => d === "sendrecv" || d === "sendonly";
  const receives = (d) => d === "sendrecv" || d === "recvonly";
  const agreed = (mine, theirs) => {
    const send = sends(mine) && receives(theirs), receive = receives(mine) && sends(theirs);
    return send && receive ? "sendrecv" : send ? "sendonly" : receive ? "recvonly" : "inactive";
  };
  const theirs = new Map(answerer.pc.getTransceivers().map((t) => [t.mid, t]));
  return [offerer.pc, answerer.pc].every((pc) => pc.connectionState === "connected" && pc.signalingState === "stable")
    && !offerer.makingOffer && !offerer.wantsOffer
    && offerer.pc.getTransceivers().every((mine) => {
      const other = theirs.get(mine.mid);
      return other && mine.currentDirection === agreed(mine.direction, other.direction)
        && other.currentDirection === agreed(other.direction, mine.direction);
    });
}"""

# Flip the direction of one of a side's transceivers: a real renegotiation need on that side.
FLIP = """([side, index]) => {
  const t = window.negotiation.links[side].pc.getTransceivers()[index];
  t.direction = t.direction === "sendrecv" ? "recvonly" : "sendrecv";
}"""
REQUESTS = ('offerer:request', 'answerer:renegotiate')


def wired(page: Page) -> None:
    page.goto('/', wait_until='domcontentloaded')
    page.evaluate(WIRE)
    settle(page)


def settle(page: Page) -> None:
    page.wait_for_function(SETTLED, timeout=20_000)


def log(page: Page) -> list[str]:
    """What happened since the last look (and start afresh)."""
    return page.evaluate('() => window.negotiation.log.splice(0)')


def assert_the_rule(seen: list[str]) -> None:
    """No crossing, nothing lost, nothing made up."""
    assert 'answerer:offer' not in seen and 'offerer:answer' not in seen, seen
    descriptions = [e for e in seen if e.endswith((':offer', ':answer'))]
    # Offers and answers alternate: a new offer only once the previous one was answered.
    assert descriptions == ['offerer:offer', 'answerer:answer'] * (len(descriptions) // 2), seen
    assert seen.count('offerer:offer-start') == seen.count('offerer:offer'), seen
    asked = False  # a request since the last offer was started
    for event in seen:
        if event in REQUESTS:
            asked = True
        elif event == 'offerer:offer-start':
            assert asked, f'an offer nobody asked for: {seen}'
            asked = False
    assert not asked, f'a request went unanswered: {seen}'


@pytest.fixture
def page(person) -> Page:
    someone = person('Tester')
    wired(someone.page)
    log(someone.page)  # the first negotiation is not under test here
    return someone.page


@pytest.mark.parametrize('side', ['offerer', 'answerer'])
def test_one_offer_per_request_from_either_side(page: Page, side: str) -> None:
    for index in (0, 1, 0):
        page.evaluate(FLIP, [side, index])
        settle(page)
        request = 'offerer:request' if side == 'offerer' else 'answerer:renegotiate'
        assert log(page) == [request, 'offerer:offer-start', 'offerer:offer', 'answerer:answer']


def test_requests_from_both_sides_at_once_never_cross(page: Page) -> None:
    for index in (0, 1):
        page.evaluate(f'(index) => {{ ({FLIP})(["offerer", index]); ({FLIP})(["answerer", 1 - index]); }}', index)
        settle(page)
        seen = log(page)
        assert 'offerer:request' in seen, seen
        assert_the_rule(seen)


def test_several_quick_requests_are_all_served_without_crossing(page: Page) -> None:
    # From both sides, several within one exchange: the rule may merge them, but loses none.
    page.evaluate(f"""async () => {{
        for (let i = 0; i < 6; i++) {{
            ({FLIP})([i % 2 ? "answerer" : "offerer", Math.floor(i / 2) % 2]);
            await new Promise((resolve) => setTimeout(resolve, 3));
        }}
    }}""")
    settle(page)
    seen = log(page)
    assert_the_rule(seen)
    assert seen.count('offerer:offer') >= 2, seen
