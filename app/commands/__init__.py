"""The `tmf640` commands beyond `serve` and `migrate`, one small module each, registered on the CLI by `register`."""

from __future__ import annotations

import typer


def register(cli: typer.Typer) -> None:
    from app.commands import demo, inspect, prune

    cli.command("prune")(prune.prune)
    cli.command("demo")(demo.demo)
    cli.command("services")(inspect.services)
    cli.command("monitors")(inspect.monitors)
