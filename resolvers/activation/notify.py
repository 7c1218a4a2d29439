"""In-process notification: a waiter learns that a key (a monitor id) changed, without polling.

The runner calls `notify(key)` after it commits; a request that waits for its Monitor registers with
`watch(key)` *before* it reads the monitor, so a change committed between the read and the wait still
wakes it. Another server's work reaches here through the event bus (app.events wakes waiters on every
Monitor event); waiters also re-read the store when their bound runs out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


class Notifier:
    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Event]] = {}

    @contextmanager
    def watch(self, key: str) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self._waiters.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[key]

    def notify(self, keys: Iterable[str]) -> None:
        for key in keys:
            for event in self._waiters.get(key, ()):
                event.set()
