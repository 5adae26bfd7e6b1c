"""A loopback HTTP server for tests that need a real peer URL (IdP metadata, redirects)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Answer = Callable[[str], tuple[int, dict[str, str], bytes]]
"""``path`` → status, headers, body."""


class LoopbackHttp:
    """Answers every GET with ``answer(path)``; records each request's ``Host`` header."""

    def __init__(self, answer: Answer) -> None:
        self.host_headers: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.host_headers.append(self.headers.get("Host", ""))
                status, headers, body = answer(self.path)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def hits(self) -> int:
        return len(self.host_headers)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
