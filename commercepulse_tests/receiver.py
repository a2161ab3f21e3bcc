"""Test harness: a local webhook receiver (alerts) that can go down and come back."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer


class Receiver:
    """A webhook receiver on a fixed local port that can go down and come back."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.server = self._start(0)
        self.port = self.server.server_address[1]

    def _start(self, port: int) -> HTTPServer:
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        server = HTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def down(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def up(self) -> None:
        self.server = self._start(self.port)
