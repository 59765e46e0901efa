"""A local HTTP server on 127.0.0.1 that records POSTs (webhook receiver) and serves fixed answers."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpSink:
    """Answers POSTs with the next status in ``statuses`` (then 200); records every request."""

    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        sink = self
        self._event = threading.Condition()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status = sink.statuses.pop(0) if sink.statuses else 200
                with sink._event:
                    sink.received.append(Received(self.path, dict(self.headers.items()), body))
                    sink._event.notify_all()
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(404)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(self, n: int, timeout_s: float = 30.0) -> list[Received]:
        """Wait until ``n`` requests arrived; returns them."""
        with self._event:
            self._event.wait_for(lambda: len(self.received) >= n, timeout=timeout_s)
            return list(self.received)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
