"""A loopback HTTP server for tests that need a real peer URL (IdP metadata, discovery,
JWKS, token endpoints, redirects)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Answer = Callable[[str], tuple[int, dict[str, str], bytes]]
"""``path`` → status, headers, body."""


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    """Names in lower case."""
    body: bytes


class LoopbackHttp:
    """Answers every GET and POST with ``answer(path)`` (the request is already in
    ``requests`` when it is called); records each request's ``Host`` header. A header the
    answer gives an empty value is left out (``Content-Length`` too: the body then ends with
    the connection)."""

    def __init__(self, answer: Answer, tls: ssl.SSLContext | None = None) -> None:
        self.host_headers: list[str] = []
        self.requests: list[Received] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(b"")

            def do_POST(self) -> None:
                self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def _answer(self, body: bytes) -> None:
                server.host_headers.append(self.headers.get("Host", ""))
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append(Received(self.command, self.path, headers, body))
                status, out_headers, out = answer(self.path)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(out)), **out_headers}.items():
                    if value:  # an empty value leaves the header out
                        self.send_header(name, value)
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:  # https, with the certificate the context holds
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hits(self) -> int:
        return len(self.host_headers)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
