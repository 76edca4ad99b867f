"""Display names that cannot deceive (issue 11, item 13): no format characters that reorder or hide text, no
names that show nothing. The name dialog, the HTTP API and tickets all go through the same rules."""

from __future__ import annotations

import pytest

from skycall.errors import SkyCallError
from skycall.protocol import MAX_NAME, NewTicket, name_problem, parse
from skycall.testing.processes import SkyCallProcess
from skycall.tickets import Ticket, TicketMint
from tests.conftest import SECRET

FORMATTING = 'Please leave out invisible formatting characters (direction marks, zero-width spaces).'
UNSEEN = 'Please type a name that can be seen.'
CONTROL = 'Please use letters, digits and punctuation only.'
ROOM = 'Jb3p0m9kq4T1bYxZz2c1vA'

REFUSED = [
    # Bidi controls: overrides and embeddings reverse or move the words shown after the name ...
    ('\u202eAda', FORMATTING),  # RIGHT-TO-LEFT OVERRIDE: "Ada wants to join" would read "nioj ot stnaw adA"
    ('Ada\u202d', FORMATTING),  # LEFT-TO-RIGHT OVERRIDE
    ('Ada\u202b', FORMATTING),  # RIGHT-TO-LEFT EMBEDDING
    ('\u202aAda', FORMATTING),  # LEFT-TO-RIGHT EMBEDDING
    ('Ada\u202c', FORMATTING),  # POP DIRECTIONAL FORMATTING
    ('\u2067Ada', FORMATTING),  # RIGHT-TO-LEFT ISOLATE
    ('\u2066Ada\u2069', FORMATTING),  # LEFT-TO-RIGHT ISOLATE ... POP DIRECTIONAL ISOLATE
    ('Ada\u2068', FORMATTING),  # FIRST STRONG ISOLATE
    ('Ada\u200f', FORMATTING),  # RIGHT-TO-LEFT MARK
    ('Ada\u200e', FORMATTING),  # LEFT-TO-RIGHT MARK
    ('Ada\u061c', FORMATTING),  # ARABIC LETTER MARK
    # ... and zero-width characters tell two names apart that look the same, or hide one.
    ('Ad\u200ba', FORMATTING),  # ZERO WIDTH SPACE
    ('Ada\u2060', FORMATTING),  # WORD JOINER
    ('\ufeffAda', FORMATTING),  # ZERO WIDTH NO-BREAK SPACE
    ('Ada\u00ad', FORMATTING),  # SOFT HYPHEN
    ('Ada\U000e0041', FORMATTING),  # TAG LATIN CAPITAL LETTER A
    ('\u200bAda', FORMATTING),
    ('\u200dAda', FORMATTING),  # a joiner joins two characters that show, nothing else
    ('Ada\u200c', FORMATTING),
    ('A\u200d\u200dda', FORMATTING),
    ('\u200b', FORMATTING),
    # Names that show nothing at all.
    ('\u0301', UNSEEN),  # a combining mark alone
    ('\u0301\u0302 \u0303', UNSEEN),
    ('\u3164', UNSEEN),  # HANGUL FILLER, drawn blank
    ('\u115f\u1160', UNSEEN),
    ('\uffa0', UNSEEN),
    ('\u2800\u2800', UNSEEN),  # BRAILLE PATTERN BLANK
    ('\ue000', UNSEEN),  # private use: no font draws it
    ('\U000e01ef', UNSEEN),  # a variation selector alone
    # Control characters, as before.
    ('Ada\x07', CONTROL),
    ('Ada\nLovelace', CONTROL),
    ('Ada\tLovelace', CONTROL),
    ('Ada\x1b[31m', CONTROL),
    ('Ada\x7f', CONTROL),
    ('Ada\x85Lovelace', CONTROL),
    ('Ada\u2028Lovelace', CONTROL),
    ('Ada\u2029Lovelace', CONTROL),
    ('Ada\x00', CONTROL),
    # Nothing.
    ('', 'Please type your name.'),
    ('   ', 'Please type your name.'),
    ('\u3000\xa0', 'Please type your name.'),  # white space only, trimmed away
]


@pytest.mark.parametrize(('name', 'sentence'), REFUSED, ids=lambda value: ascii(value)[:40])
def test_a_deceptive_or_invisible_name_is_refused_with_a_sentence_that_says_why(name: str, sentence: str) -> None:
    with pytest.raises(SkyCallError) as refused:
        parse(NewTicket, {'name': name})
    assert (refused.value.code, refused.value.message) == ('bad-message', sentence)
    assert name_problem(name.strip()) == sentence  # what the name dialog shows under the field


ACCEPTED = [
    'Ada Lovelace',
    'שרה כהן',  # right to left: allowed, and shown isolated (e2e/test_names.py)
    'سارة 2',
    '李小龙',
    'Zoe\u0308',  # a combining diaeresis on a letter
    'J\u00fcrgen M\u00fcller',
    'नमस्ते',
    'نیک\u200cنام',  # ZERO WIDTH NON-JOINER between letters: Persian needs it
    '\U0001f468\u200d\U0001f469\u200d\U0001f467',  # ZERO WIDTH JOINER in an emoji sequence
    '\u2764\ufe0f Ada',  # a variation selector after a symbol
    'Ada\u00a0Lovelace',  # a no-break space inside
    '<b>Ada</b>',  # markup is text, shown as text
    'n' * MAX_NAME,
]


@pytest.mark.parametrize('name', ACCEPTED, ids=ascii)
def test_names_in_every_script_are_accepted_as_typed(name: str) -> None:
    assert parse(NewTicket, {'name': name}).name == name
    assert name_problem(name) is None


async def test_the_api_refuses_a_right_to_left_override_and_says_why(server: SkyCallProcess) -> None:
    room = await server.create_room()
    response = await server.request_ticket(room, {'name': '\u202eAda'})
    assert response.status_code == 400
    assert response.json() == {'ok': False, 'code': 'bad-message', 'message': FORMATTING}
    assert (await server.ticket(room, 'Ada'))['name'] == 'Ada'


def test_a_ticket_signed_before_the_rules_with_such_a_name_is_refused() -> None:
    """A ticket minted by an earlier version (valid for 15 minutes) does not bring such a name in either."""
    mint = TicketMint(SECRET, 60)
    assert mint.check(mint.issue(Ticket(ROOM, 'Ada', 'k3Jd9s0aQ1c'))).name == 'Ada'
    with pytest.raises(SkyCallError) as refused:
        mint.check(mint.issue(Ticket(ROOM, '\u202eAda', 'k3Jd9s0aQ1c')))
    assert refused.value.code == 'bad-ticket'
