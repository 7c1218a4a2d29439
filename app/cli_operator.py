"""`tmf640 held | retry | abort | resolve`: an operator's actions on held work, straight on the database.

The same resolver as the GraphQL mutations (resolvers.activation.operator); a running server claims retried or
aborted work at its next scan (`TMF640_RUNNER_POLL_SECONDS`). `--by` names who acts (default: `$USER`).
"""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from app.settings import Settings
from resolvers.activation.notify import Notifier
from resolvers.activation.operator import Operator
from resolvers.context import Caller, RequestContext
from resolvers.rules.errors import DomainError
from store.db import Database
from store.uow import Store

T = TypeVar("T")
DbOption = Annotated[str | None, typer.Option(help="SQLAlchemy URL [TMF640_DATABASE_URL]")]
Reason = Annotated[str, typer.Option(help="Why (recorded on the monitor)")]
By = Annotated[str | None, typer.Option(help="Who acts (recorded on the monitor; default: your user name)")]


def _run(database_url: str | None, call: Callable[[Operator, RequestContext], Awaitable[T]], by: str | None) -> T:
    settings = Settings(**({"database_url": database_url} if database_url else {}))  # type: ignore[arg-type]
    who = by or _user()
    ctx = RequestContext(caller=Caller(identity=who), base_url=settings.public_base_url or
                         f"http://{settings.host}:{settings.port}")

    async def run() -> T:
        db = Database(settings.database_url)
        try:
            return await call(Operator(Store(db), Notifier(), lambda: None), ctx)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc


def _user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


def _show(monitor: dict[str, Any]) -> None:
    keep = ("id", "state", "held", "heldReason", "jeopardy", "operatorActions")
    typer.echo(json.dumps({k: monitor[k] for k in keep if k in monitor}, indent=2))


def register(cli: typer.Typer) -> None:
    """Add the operator's commands to the `tmf640` command."""

    @cli.command()
    def held(database_url: DbOption = None) -> None:
        """List work held for an operator: monitor ids, service, since when, why."""
        rows = _run(database_url, lambda op, _ctx: op.held(), None)
        if not rows:
            typer.echo("nothing is held")
        for w in rows:
            since = w.since.isoformat() if w.since else "?"
            typer.echo(f"{','.join(w.monitor_ids)}\tservice {w.service_id}\tsince {since}\t{w.reason}")

    @cli.command()
    def retry(monitor_id: str, reason: Reason, by: By = None, database_url: DbOption = None) -> None:
        """Retry held work from where it stopped."""
        _show(_run(database_url, lambda op, ctx: op.retry(ctx, monitor_id, reason, by), by))

    @cli.command()
    def abort(monitor_id: str, reason: Reason, by: By = None, database_url: DbOption = None) -> None:
        """Abort held work: compensate what succeeded, then finish InError."""
        _show(_run(database_url, lambda op, ctx: op.abort(ctx, monitor_id, reason, by), by))

    @cli.command()
    def resolve(
        monitor_id: str,
        reason: Reason,
        state: Annotated[str, typer.Option(help="The outcome you record: Completed or InError")],
        by: By = None,
        database_url: DbOption = None,
    ) -> None:
        """Record the outcome of held work put right by hand (no more driver calls)."""
        _show(_run(database_url, lambda op, ctx: op.resolve(ctx, monitor_id, state, reason, by), by))
