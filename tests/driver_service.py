"""A real HTTP driver service for the `http` driver: records every call, fails on demand (test helper).

Runs in a thread of the test process (so that servers in other processes reach it too). A step's behaviour
comes from its service's characteristics (the `http` driver sends the to-be document):
- `driverFail: "permanent"` refuses `execute` with 422 (the step fails for good);
- `driverFail: "transient:N"` answers 503 to the first N `execute` calls of that step id, then succeeds;
- `driverFail: "compensate"` refuses every `compensate` with 422.
`down = True` answers 503 to everything (a driver that stays unreachable) until it is set back.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer as _Threading
from typing import Any


class ThreadingHTTPServer(_Threading):
    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a server SIGKILLed mid-request resets its connection: expected here, not worth a traceback


@dataclass(frozen=True)
class DriverCall:
    phase: str
    step_id: str
    service_id: str
    action: str
    activation_id: str
    correlation_id: str | None
    at: float
    status: int


@dataclass
class DriverService:
    down: bool = False
    latency: float = 0.0  # seconds each call takes (the handler thread sleeps; calls overlap)
    calls: list[DriverCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tries: Counter[str] = field(default_factory=Counter)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/steps/{{phase}}"

    def start(self) -> DriverService:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                status = service.answer(body)
                payload = json.dumps({"ok": status < 300, "stepId": body.get("stepId")}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, body: dict[str, Any]) -> int:
        if self.latency:
            time.sleep(self.latency)
        phase, step_id = str(body.get("phase")), str(body.get("stepId"))
        told = _characteristic(body.get("service") or {}, "driverFail") or ""
        with self._lock:
            if self.down:
                status = 503
            elif phase == "compensate":
                status = 422 if told == "compensate" else 200
            elif told == "permanent":
                status = 422
            elif told.startswith("transient:"):
                self._tries[step_id] += 1
                status = 503 if self._tries[step_id] <= int(told.split(":", 1)[1]) else 200
            else:
                status = 200
            self.calls.append(DriverCall(
                phase, step_id, str(body.get("serviceId")), str(body.get("action")),
                str(body.get("activationId")), body.get("correlationId"), time.monotonic(), status,
            ))
        return status

    def ok(self, phase: str = "execute") -> list[DriverCall]:
        with self._lock:
            return [c for c in self.calls if c.phase == phase and c.status < 300]


def _characteristic(service: dict[str, Any], name: str) -> Any:
    for item in service.get("serviceCharacteristic") or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item.get("value")
    return None


@dataclass
class Recorder:
    """A hub listener: a real HTTP server that records every event POSTed to it, in arrival order."""

    events: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/listener"

    def start(self) -> Recorder:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if len(raw) < length or not raw:  # the sender died mid-request (SIGKILL): nothing was delivered
                    self.close_connection = True
                    return
                body = json.loads(raw)
                with recorder._lock:
                    recorder.events.append(body)
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.events)
