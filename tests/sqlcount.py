"""Counting the SQL statements a block of the current task sends (background tasks of the app excluded)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[list[str]]:
    """Statements sent on `engine` by the task running the block; the relay, dispatcher and engine runner
    share the engine but run in tasks of their own, so they are not counted. httpx's ASGI transport runs the
    request in the calling task, so a request made inside the block is counted."""
    statements: list[str] = []
    owner = asyncio.current_task()

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        try:
            current = asyncio.current_task()
        except RuntimeError:
            current = None
        if current is owner:
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
