"""Cookies in NiceGUI's simulated browser, which runs no JavaScript."""

from __future__ import annotations

import re

from nicegui.testing import User

# What the pages run to store what a browser remembers (skycall/pages/memory.py).
COOKIE_WRITE = re.compile(r'document\.cookie = "([^=;"]+)=([^;"]*);')


def with_cookie_writes(user: User) -> User:
    """NiceGUI's simulated browser runs no JavaScript: have it do what the pages' cookie writes do."""
    def store(match: re.Match[str]) -> None:
        user.http_client.cookies.set(match.group(1), match.group(2))

    user.javascript_rules[COOKIE_WRITE] = store
    return user
