"""docs/protocol.md and the code say the same thing: every JSON example parses with its model, every model
has an example, and the error table shows the sentences of skycall.errors.MESSAGES.

An example is a fenced block whose info string names its direction and the events it is for:
```json in join``` (client to server), ```json ack join``` (the acknowledgement of ``join``) or
```json out peer-joined``` (server to client). A block may hold several JSON objects, one after another.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from skycall.errors import MESSAGES
from skycall.protocol import ACKS, INBOUND, OUTBOUND, ErrorReply, parse

DOC = Path(__file__).resolve().parents[1] / 'docs' / 'protocol.md'
REGISTRIES: dict[str, dict[str, Any]] = {'in': INBOUND, 'ack': ACKS, 'out': OUTBOUND}
FENCE = re.compile(r'^```json(?P<label>[^\n]*)\n(?P<body>.*?)^```[ \t]*$', re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Example:
    direction: str
    events: tuple[str, ...]
    data: Any
    line: int

    def __str__(self) -> str:
        return f'line {self.line}: {self.direction} {" ".join(self.events)}'


def _objects(body: str) -> list[Any]:
    decoder, found, body, at = json.JSONDecoder(), [], body.strip(), 0
    while at < len(body):
        data, end = decoder.raw_decode(body, at)
        found.append(data)
        at = len(body) - len(body[end:].lstrip())  # the next object, after the white space
    return found


def _examples() -> list[Example]:
    text = DOC.read_text(encoding='utf-8')
    found = []
    for block in FENCE.finditer(text):
        direction, *events = block['label'].split() or ['']
        line = text.count('\n', 0, block.start()) + 1
        found += [Example(direction, tuple(events), data, line) for data in _objects(block['body'])]
    return found


EXAMPLES = _examples()


def _model(direction: str, event: str) -> Any:
    return REGISTRIES.get(direction, {}).get(event)


def test_every_json_block_is_found() -> None:
    """An indented or otherwise odd ```json fence would escape the checks below."""
    text = DOC.read_text(encoding='utf-8')
    assert text.count('```json') == len(FENCE.findall(text))


def test_every_example_names_a_direction_and_events_that_have_a_model() -> None:
    unknown = [f'{example} ({event})' for example in EXAMPLES for event in example.events or ['(no event)']
               if _model(example.direction, event) is None]
    assert EXAMPLES and not unknown, f'examples without a model: {unknown}'


def test_every_model_has_an_example() -> None:
    shown = {(example.direction, event) for example in EXAMPLES for event in example.events}
    missing = [f'{direction} {event}' for direction, registry in REGISTRIES.items() for event in registry
               if (direction, event) not in shown]
    assert not missing, f'events without a JSON example in docs/protocol.md: {missing}'


@pytest.mark.parametrize('example', EXAMPLES, ids=str)
def test_every_example_parses_with_its_model_and_says_nothing_more(example: Example) -> None:
    for event in example.events:
        model = _model(example.direction, event)
        if model is None:
            continue  # reported by the test above
        if example.direction == 'in':
            # As the server parses it; every field shown must be one the model reads.
            message = parse(model, example.data)
            assert message.model_dump(exclude_unset=True, by_alias=True) == example.data
        else:
            # As a client would parse it; and the server, building the same model, sends exactly the example.
            message = model.model_validate(example.data)
            assert message.wire() == example.data
            if isinstance(message, ErrorReply):
                assert _says(MESSAGES[message.code], message.message), (message.code, message.message)


def _says(template: str, text: str) -> bool:
    """Whether ``text`` is ``template`` with its ``{limit}`` filled in."""
    pattern = re.escape(template).replace(re.escape('{limit}'), r'\d+')
    return re.fullmatch(pattern, text) is not None


def _error_table() -> dict[str, str]:
    text = DOC.read_text(encoding='utf-8')
    table = text[text.index('## Error codes'):]
    rows = re.findall(r'^\| `([a-z-]+)` \|[^\n]*\| ([^|\n]*) \|$', table, re.MULTILINE)
    return {code: seen for code, seen in rows}


def test_the_error_table_shows_every_code_with_the_sentence_the_code_sends() -> None:
    table = _error_table()
    assert set(table) == set(MESSAGES), 'the codes in the error table and in skycall.errors.MESSAGES differ'
    for code, seen in table.items():
        quoted = re.match(r'"([^"]*)"', seen)
        assert quoted, f'{code}: the table quotes no sentence'
        assert quoted[1] == MESSAGES[code].format(limit='N'), code

