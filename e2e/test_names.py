"""A right-to-left name in a real browser cannot reorder the words around it (issue 11, item 13): every name
is shown isolated (<bdi>, unicode-bidi: isolate)."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, expect

from skycall.testing.call_steps import call_between, expect_chat, say

SARAH = 'שרה'  # Hebrew, right to left

# Where each of ``words`` starts on the screen (the left edge of its first character), found in the element's
# text nodes: what the person sees, after the browser's bidi reordering.
LEFT_EDGES = """(element, words) => {
  const found = {};
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const word of words) {
      const at = node.data.indexOf(word);
      if (at < 0 || word in found) continue;
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + word.length);
      found[word] = range.getBoundingClientRect().left;
    }
  }
  return found;
}"""


def left_edges(element: Locator, *words: str) -> dict[str, float]:
    found = element.evaluate(LEFT_EDGES, list(words))
    assert sorted(found) == sorted(words), f'not all of {words} found in {element.inner_text()!r}'
    return dict(found)


def test_a_right_to_left_name_keeps_its_place_before_the_words_that_follow_it(person):
    ada, sarah = person('Ada'), person(SARAH)
    call_between(ada.page, 'Ada', sarah.page, SARAH)
    chat = ada.page.get_by_role('button', name=re.compile(r'^Chat'))  # "Chat", then "Chat 1" with a message unread
    chat.click()  # closed: messages arrive as notifications
    say(sarah.page, '5 apples')
    notification = ada.page.locator('.q-notification__message').filter(has_text='5 apples')
    expect(notification).to_be_visible()
    # "שרה: 5 apples", the name first. Not isolated, the colon and the number would join the right-to-left
    # run of the name and be drawn before it: "5 :שרה apples".
    edges = left_edges(notification, SARAH, ':', '5 apples')
    assert edges[SARAH] < edges[':'] < edges['5 apples'], edges
    # The name on the tile and beside each chat message is isolated as well.
    chat.click()
    expect_chat(ada.page, SARAH, '5 apples')
    for name in (ada.page.locator('.skycall-name').filter(has_text=SARAH), ada.page.locator('.q-message-name')):
        expect(name.first).to_have_css('unicode-bidi', 'isolate')
