"""Counting the SQL statements a block of the current task sends (background tasks of the app excluded)."""

from __future__ import annotations

import asyncio
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
    """Statements sent on `engine` (and on its Database's SQLite read engine) by the task running the block;
    the relay, dispatcher and engine runner share the engine but run in tasks of their own, so they are not
    counted. httpx's ASGI transport runs the request in the calling task, so a request made inside the block is
    counted; so is a read it hands to a worker thread (`Database.run_read` carries the task's context along)."""
    statements: list[str] = []
    owner = asyncio.current_task()
    token = object()

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        try:
            current = asyncio.current_task()
        except RuntimeError:  # a worker thread: it works for whoever's context it runs in
            current = None
            if _COUNTING.get() is token:
                statements.append(statement)
            return
        if current is owner:
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
