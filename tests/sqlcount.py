"""Counting the SQL statements a block of the current task sends (background tasks of the app excluded)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import read_engines

_COUNTING: ContextVar[object | None] = ContextVar("sqlcount_owner", default=None)


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[list[str]]:
    """Statements sent on `engine` (and on its Database's SQLite read engine) on behalf of the block: by the task
    running it, by tasks it starts (a DataLoader's batch runs in a task of its own; each new task inherits the
    block's context); `Database.run_read` reads on the synchronous engine from the calling task.
    The relay, dispatcher and engine runner share the engine but run in tasks started before the block, so
    they are not counted. httpx's ASGI transport runs a request in the calling task: it is counted."""
    statements: list[str] = []
    token = object()

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if _COUNTING.get() is token:
            statements.append(statement)

    reset = _COUNTING.set(token)
    try:
        with listening(engine, record):
            yield statements
    finally:
        _COUNTING.reset(reset)


@contextmanager
def listening(engine: AsyncEngine, record: Callable[..., None]) -> Iterator[None]:
    """`record` called for every statement sent on `engine` and its Database's read engines while the block runs."""
    engines = read_engines(engine)
    for each in engines:
        event.listen(each, "before_cursor_execute", record)
    try:
        yield
    finally:
        for each in engines:
            event.remove(each, "before_cursor_execute", record)
