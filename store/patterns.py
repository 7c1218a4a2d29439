"""Regular expressions of filters, in linear time: RE2 (google-re2) everywhere a pattern meets text.

A backtracking engine lets `^(a+)+$` take seconds over a 25-character name and freezes every other read
meanwhile (issue #11). RE2 runs in time linear in the text and refuses, when compiling, what it cannot do
so (backreferences, lookaround) and repetitions above 1000; patterns are also capped at `MAX_PATTERN_LENGTH`
characters and RE2's compiled program at `MAX_PROGRAM_BYTES`. Filters are checked with `compile_pattern`
before the store runs them (resolvers.rules.query_check); SQLite's REGEXP function is `regexp` below
(registered on every connection, store.db); PostgreSQL's `~` runs the same RE2-checked pattern with its own
non-backtracking engine; event filters (hub, subscriptions) use `search`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

MAX_PATTERN_LENGTH = 256
MAX_PROGRAM_BYTES = 8 << 20


class PatternRefused(ValueError):
    """A pattern RE2 cannot run in linear time, or too long; the message names the construct."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = MAX_PROGRAM_BYTES
    return options


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> Any:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternRefused(f"the regular expression is longer than {MAX_PATTERN_LENGTH} characters")
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternRefused(
            f"{pattern!r} is not a valid regular expression: {reason} (patterns are RE2 syntax, matched in "
            "linear time: no backreferences, no lookahead or lookbehind, repetitions of at most 1000)") from exc


def search(pattern: str, text: str) -> bool:
    """Whether `pattern` matches somewhere in `text` (RE2)."""
    return compile_pattern(pattern).search(text) is not None


def regexp(pattern: str | None, text: str | None) -> bool:
    """SQLite's `text REGEXP pattern`: RE2, so a filter cannot freeze the database (NULL never matches)."""
    if pattern is None or text is None:
        return False
    try:
        return bool(search(pattern, str(text)))
    except PatternRefused:
        return False
