"""Failures the store reports; resolvers translate them into domain errors."""

from __future__ import annotations


class BadValue(Exception):
    """A filter value that cannot be compared with the column it targets (e.g. not a date-time)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class StaleVersion(Exception):
    """The row changed since it was read (optimistic concurrency): re-read and try again."""


class MissingDriver(RuntimeError):
    """A database URL names a backend whose driver is not installed (PostgreSQL's is an optional extra)."""

    def __init__(self, url: str) -> None:
        scheme = url.split(":", 1)[0]
        super().__init__(
            f"{scheme}:// needs PostgreSQL's driver (asyncpg), which is not installed: "
            'pip install "tmf640-graphql[postgres]"'
        )
