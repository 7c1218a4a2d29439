"""Every setting as an option of every command, plus `--env-file`: `@with_settings` builds the `Settings`.

Precedence: an option given on the command line, then the `TMF640_*` environment, then the env file, then the
default (pydantic-settings' order for init arguments, environment and dotenv).
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import typer

from app.settings import Settings

ENV_FILE = Annotated[
    Path | None, typer.Option("--env-file", help="Read TMF640_* settings from this file (KEY=value lines)",
                              exists=True, dir_okay=False, rich_help_panel="Settings")]


def _help(name: str, field: Any) -> str:
    text = field.description or name.replace("_", " ")
    return f"{text} [TMF640_{name.upper()}]"


def _is_mapping(annotation: Any) -> bool:
    """Settings given as JSON on the command line: mappings and lists."""
    return (annotation in (dict, list) or get_origin(annotation) in (dict, list)
            or any(_is_mapping(a) for a in get_args(annotation)))


def setting_parameters() -> list[inspect.Parameter]:
    params = []
    for name, field in Settings.model_fields.items():
        option = typer.Option(f"--{name.replace('_', '-')}", help=_help(name, field), rich_help_panel="Settings",
                              show_default=False)
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                        annotation=Annotated[str | None, option]))
    return params


def build(env_file: Path | None, given: dict[str, str | None]) -> Settings:
    """Settings from the options given (text, JSON for mappings), the environment and the env file."""
    from pydantic import TypeAdapter, ValidationError

    values: dict[str, Any] = {}
    mappings: dict[str, Any] = {}
    try:
        for name, text in given.items():
            if text is None:
                continue
            annotation: Any = Settings.model_fields[name].annotation
            if _is_mapping(annotation):  # replaces the whole mapping (pydantic-settings would merge sources)
                mappings[name] = TypeAdapter(annotation).validate_python(json.loads(text))
            else:
                values[name] = text
        settings = Settings(_env_file=env_file, **values)
    except ValidationError as exc:  # a clear message per setting and exit status 2, not a traceback
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            typer.echo(f"error: {where + ': ' if where else ''}{error['msg']}", err=True)
        raise typer.Exit(2) from None
    except ValueError as exc:  # json's JSONDecodeError: a mapping option that is not JSON
        raise typer.BadParameter(str(exc)) from exc
    for name, value in mappings.items():
        setattr(settings, name, value)
    return settings


def with_settings(func: Callable[..., Any]) -> Callable[..., Any]:
    """`func(settings, **its own options)` becomes a command taking every setting as an option too."""
    own = [p for p in inspect.signature(func, eval_str=True).parameters.values() if p.name != "settings"]
    names = set(Settings.model_fields)

    @functools.wraps(func)
    def command(**kwargs: Any) -> Any:
        env_file = kwargs.pop("env_file", None)
        given = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
        return func(build(env_file, given), **kwargs)

    params = [*own, inspect.Parameter("env_file", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ENV_FILE),
              *(p for p in setting_parameters() if p.name not in {o.name for o in own})]
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    del command.__wrapped__  # typer reads __signature__/__annotations__, not the wrapped function's
    return command
