"""The JSON response of every REST answer: Starlette's, with the body written by resolvers.rules.json_text."""

from __future__ import annotations

from typing import Any

from starlette import responses

from resolvers.rules import json_text


class JSONResponse(responses.JSONResponse):
    def render(self, content: Any) -> bytes:
        return json_text.dumps(content)
