"""webhook_receiver.py — a webhook receiver on 127.0.0.1 for the tests and the
load benchmark: a ThreadingHTTPServer that records every request and answers
from a script."""
from __future__ import annotations

import http.server
import socket
import threading
import time


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # listen backlog: bursts of new connections are the normal case here


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """A webhook receiver on 127.0.0.1. `script` gives the answers in order
    (a status, or (status, {header: value})); after it, `default`."""

    def __init__(self, script=(), default=200, port: int | None = None, delay: float = 0.0):
        self.script = list(script)
        self.default = default
        self.delay = delay  # seconds each answer takes (a slow receiver)
        self.port = port or free_port()
        self.got: list[dict] = []
        self.cond = threading.Condition()
        self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> "Receiver":
        rcv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if rcv.delay:
                    time.sleep(rcv.delay)
                with rcv.cond:
                    answer = rcv.script.pop(0) if rcv.script else rcv.default
                    status, headers = answer if isinstance(answer, tuple) else (answer, {})
                    rcv.got.append({"t": time.monotonic(), "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body, "status": status, "path": self.path})
                    rcv.cond.notify_all()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def wait(self, pred, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred(self.got):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"receiver: condition not met in {timeout}s; got "
                                       f"{[(g['headers'].get('webhook-id'), g['status']) for g in self.got]}")
                self.cond.wait(left)
            return list(self.got)

    def ids(self) -> list[str]:
        with self.cond:
            return [g["headers"]["webhook-id"] for g in self.got]
