"""The `tmf640` command: `serve`, `migrate`, the operator's `held`, `retry`, `abort`, `resolve`, and `demo`,
`services`, `monitors`, `prune` (app/commands). Every command takes every setting as an option (and `--env-file`);
each option also reads its TMF640_* variable. Heavy libraries (uvicorn, alembic, rich) load inside the command that
uses them."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from app import cli_import
from app.commands import register
from app.commands.options import with_settings
from app.settings import Settings

GC_YOUNG = 50_000  # allocations between young collections of a serving process (see `serve`)

cli = typer.Typer(help="TMF640 Service Activation and Configuration server.", no_args_is_help=True)
cli_import.register(cli)  # `tmf640 import FILE`


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"tmf640 {version('tmf640-graphql')}")
        raise typer.Exit()


@cli.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit")] = False,
) -> None:
    """TMF640 Service Activation and Configuration server."""


@cli.command()
@with_settings
def serve(settings: Settings) -> None:
    """Migrate the database and serve REST and GraphQL."""
    import gc
    import sys

    import uvicorn

    from app.factory import create_app
    from app.observability import logs

    fmt = settings.log_format
    if fmt == "auto":
        fmt = "text" if sys.stderr.isatty() else "json"
    logs.configure(settings.log_level, fmt)
    application = create_app(settings)
    # What exists now (modules, the schema, the app) lives as long as the process: frozen out of the cyclic
    # collector's scans, so that the full collections a large answer triggers (a whole tree holds ~100,000
    # objects) traverse the request's objects only: -40% CPU for a 421-service tree (bench `tree`).
    gc.freeze()
    # A young collection every GC_YOUNG allocations net, not CPython's 700: a large answer allocates
    # hundreds of thousands of objects, all alive until it is sent, and each collection it triggered scanned
    # them again (a third of the time of a 421-service tree or list, bench `tree`).
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
    uvicorn.run(application, host=settings.host, port=settings.port, log_level=settings.log_level,
                log_config=None, access_log=False, proxy_headers=True,
                ws_ping_interval=settings.ws_ping_interval, ws_ping_timeout=settings.ws_ping_timeout,
                # Events are small: compressing each for each subscriber costs CPU per subscriber and a zlib
                # context (tens of KB) per connection, for thousands of connections (docs/events.md).
                ws_per_message_deflate=False)


@cli.command()
@with_settings
def migrate(settings: Settings) -> None:
    """Apply every pending migration and exit."""
    from store import migrate as store_migrate
    from store.db import Database

    async def run() -> None:
        db = Database(settings.database_url)
        try:
            await store_migrate.upgrade(db)
        finally:
            await db.dispose()

    asyncio.run(run())
    typer.echo(f"database at head: {settings.database_url}")


register(cli)

from app import cli_operator  # noqa: E402  (the operator's commands: held, retry, abort, resolve)

cli_operator.register(cli)


def main() -> None:
    cli()
