"""`tmf640 import FILE`: services as they stand in the network, from NDJSON or a JSON array, in batches.

Each document is a Service_Create (as `POST /service` takes); it is stored with its state, with no activation
(resolvers.bulk). Bad documents are reported by line (NDJSON) or position (JSON array) and skipped; `--strict`
stops at the first. A re-run of the same file stores nothing twice. Exit status: 0 when every document was
stored or already present, 1 when some were bad.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from app.settings import Settings

if TYPE_CHECKING:
    from resolvers.bulk import Outcome

BATCH = 2000  # documents per transaction: fewer commits rewrite the same index pages less often


def _ndjson(handle: IO[str], bad: list[tuple[int, str]]) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except ValueError as exc:
            bad.append((number, f"not JSON: {exc}"))
            yield number, _Unreadable()


class _Unreadable:
    """A line that is not JSON: reported where it stands, so that --strict stops there."""


def documents(path: Path, bad: list[tuple[int, str]]) -> Iterator[tuple[int, Any]]:
    """(number, document) of the file: lines of NDJSON, or positions (from 1) in a JSON array."""
    handle = path.open(encoding="utf-8")
    with handle:
        head = handle.read(4096).lstrip()
        handle.seek(0)
        if head.startswith("["):
            try:
                array = json.load(handle)
            except ValueError as exc:
                raise typer.BadParameter(f"{path} starts like a JSON array but is not one: {exc}") from exc
            yield from enumerate(array, start=1)
            return
        yield from _ndjson(handle, bad)


def _progress(enabled: bool, total: int) -> Any:
    if not enabled:
        return None
    from rich.progress import Progress  # only an import with a progress bar pays for rich

    progress = Progress(transient=False)
    progress.start()
    progress.add_task("importing", total=total)
    return progress


async def run_import(path: Path, settings: Settings, *, strict: bool, events: bool, progress: bool,
                     batch_size: int, base_url: str, correlation_id: str | None) -> tuple[int, int, list[Any]]:
    from resolvers.api import Resolvers
    from resolvers.bulk import BulkImport, Item, derived_id
    from resolvers.context import Caller, RequestContext
    from store import migrate
    from store.db import Database
    from store.uow import Store

    db = Database(settings.database_url)
    stored = present = 0
    bad: list[tuple[int, str]] = []
    try:
        await migrate.upgrade(db)
        # The engine is never started here: an import records services as they stand, with no activation.
        resolvers = Resolvers.build(Store(db), lifecycle=settings.lifecycle)
        importer = BulkImport(resolvers.services, emit_events=events)
        ctx = RequestContext(caller=Caller(identity="import"), base_url=base_url.rstrip("/"),
                             correlation_id=correlation_id or f"import-{uuid.uuid4()}")
        seen: dict[str, int] = {}
        bar = _progress(progress, sum(1 for _ in path.open(encoding="utf-8")) if progress else 0)
        batch: list[Item] = []
        # One batch is written while the next is checked and planned in a worker thread: SQLite works outside
        # the GIL, so the two overlap on a machine with two cores.
        pending: tuple[asyncio.Task[Outcome], int] | None = None

        async def settle() -> bool:
            nonlocal pending, stored, present
            if pending is None:
                return True
            task, size = pending
            pending = None
            outcome = await task
            stored, present = stored + outcome.stored, present + outcome.present
            bad.extend(outcome.bad)
            if bar is not None:
                bar.advance(bar.task_ids[0], size)
            return not (strict and outcome.bad)

        async def flush() -> bool:
            nonlocal pending, batch
            items, batch = batch, []
            prepared = await asyncio.to_thread(importer.prepare, ctx, items, strict=strict)
            if not await settle():
                return False
            pending = (asyncio.create_task(importer.write(ctx, prepared, strict=strict)), len(items))
            return not (strict and prepared.bad)

        for number, body in documents(path, bad):
            if isinstance(body, _Unreadable):
                if strict:
                    if batch:
                        await flush()
                    break
                continue
            if isinstance(body, dict) and not body.get("id"):
                key = json.dumps(body, sort_keys=True)
                seen[key] = seen.get(key, 0) + 1
                body = {**body, "id": derived_id(body, seen[key])}
            batch.append(Item(number, body))
            if len(batch) >= batch_size and not await flush():
                break
        else:
            if batch:
                await flush()
        await settle()
        if bar is not None:
            bar.stop()
    finally:
        await db.dispose()
    bad.sort()
    if strict and bad:
        bad = bad[:1]
    return stored, present, bad


def import_services(
    file: Annotated[Path, typer.Argument(help="NDJSON (one Service_Create per line) or a JSON array",
                                         exists=True, dir_okay=False, readable=True)],
    database_url: Annotated[str | None, typer.Option(help="SQLAlchemy URL [TMF640_DATABASE_URL]")] = None,
    strict: Annotated[bool, typer.Option(help="Stop at the first bad document")] = False,
    events: Annotated[bool, typer.Option(help="Write a ServiceCreateEvent per service")] = True,
    progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
    batch_size: Annotated[int, typer.Option(min=1, max=5000, help="Documents stored per transaction")] = BATCH,
    base_url: Annotated[str | None, typer.Option(help="Base of hrefs in events [TMF640_PUBLIC_BASE_URL]")] = None,
    correlation_id: Annotated[str | None, typer.Option(help="Threads the import's revisions and events")] = None,
) -> None:
    """Store services from FILE as they stand (no activation); bad documents are reported by line."""
    given = {"database_url": database_url} if database_url else {}
    settings = Settings(**given)  # type: ignore[arg-type]
    base = base_url or settings.public_base_url or f"http://{settings.host}:{settings.port}"
    stored, present, bad = asyncio.run(run_import(
        file, settings, strict=strict, events=events, progress=progress, batch_size=batch_size, base_url=base,
        correlation_id=correlation_id,
    ))
    for number, message in bad:
        typer.echo(f"{file}:{number}: {message}", err=True)
    typer.echo(f"stored {stored} services; {present} documents already present; {len(bad)} bad")
    if bad:
        sys.exit(1)


def register(cli: typer.Typer) -> None:
    cli.command("import")(import_services)
