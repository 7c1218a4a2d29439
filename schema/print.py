"""Print the schema in SDL: `python -m schema.print > schema.graphql` regenerates the committed copy."""

from __future__ import annotations

import sys

from strawberry.printer import print_schema

from schema.build import build_schema


def sdl() -> str:
    return print_schema(build_schema()) + "\n"


if __name__ == "__main__":
    sys.stdout.write(sdl())
