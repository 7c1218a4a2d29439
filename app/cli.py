"""The `tmf640` command: `serve`, `migrate`, and the operator's `held`, `retry`, `abort`, `resolve`.

Every option also reads its TMF640_* variable."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError

from app import cli_import
from app.settings import Settings
from store import migrate as store_migrate
from store.db import Database

cli = typer.Typer(help="TMF640 Service Activation and Configuration server.", no_args_is_help=True)
cli_import.register(cli)  # `tmf640 import FILE`


def _settings(**overrides: object) -> Settings:
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:  # a clear message and exit status 2, not a traceback
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            typer.echo(f"error: {where + ': ' if where else ''}{error['msg']}", err=True)
        raise typer.Exit(2) from None


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on [TMF640_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [TMF640_PORT]")] = None,
    database_url: Annotated[str | None, typer.Option(help="SQLAlchemy URL [TMF640_DATABASE_URL]")] = None,
    public_base_url: Annotated[str | None, typer.Option(help="Base of hrefs [TMF640_PUBLIC_BASE_URL]")] = None,
) -> None:
    """Migrate the database and serve REST and GraphQL."""
    from app.factory import create_app

    settings = _settings(host=host, port=port, database_url=database_url, public_base_url=public_base_url)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level,
                proxy_headers=True, ws_ping_interval=settings.ws_ping_interval,
                ws_ping_timeout=settings.ws_ping_timeout)


@cli.command()
def migrate(
    database_url: Annotated[str | None, typer.Option(help="SQLAlchemy URL [TMF640_DATABASE_URL]")] = None,
) -> None:
    """Apply every pending migration and exit."""
    settings = _settings(database_url=database_url)

    async def run() -> None:
        db = Database(settings.database_url)
        try:
            await store_migrate.upgrade(db)
        finally:
            await db.dispose()

    asyncio.run(run())
    typer.echo(f"database at head: {settings.database_url}")


from app import cli_operator  # noqa: E402  (the operator's commands: held, retry, abort, resolve)

cli_operator.register(cli)


def main() -> None:
    cli()
