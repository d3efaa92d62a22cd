"""slow_dns.py — a tiny DNS server on 127.0.0.1 for the webhook tests: it
answers A queries for names under `zone` with 127.0.0.1 (AAAA with no
address), except names it was told to hold: their queries wait, unanswered,
until the test releases them. The worker is pointed at it with
SANDQ_WEBHOOK_DNS_SERVER, so a test can make one webhook host name resolve
as slowly as it likes without touching the host's resolver."""
from __future__ import annotations

import socket
import struct
import threading
import time


class SlowDns:
    def __init__(self, zone: str = "sandq-test", hold: tuple[str, ...] = ()):
        self.zone = zone
        self.held_names = set(hold)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.cond = threading.Condition()
        self.queries: list[tuple[float, str]] = []   # (time, name) of every query received
        self.answered: list[tuple[float, str]] = []  # (time, name) of every answer sent
        self.held: list[tuple[bytes, tuple]] = []    # queries waiting for release()
        self.released = False
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> "SlowDns":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.sock.close()

    def release(self) -> None:
        """Answer the held queries now, and any later ones for those names at once."""
        with self.cond:
            self.released = True
            held, self.held = self.held, []
        for q, addr in held:
            self._answer(q, addr)

    def wait_query(self, name: str, timeout: float = 30.0) -> None:
        with self.cond:
            if not self.cond.wait_for(lambda: any(n == name for _, n in self.queries), timeout):
                raise TimeoutError(f"no DNS query for {name} within {timeout}s (got {self.queries})")

    def was_answered(self, name: str) -> bool:
        with self.cond:
            return any(n == name for _, n in self.answered)

    @staticmethod
    def _name(q: bytes) -> tuple[str, int]:
        i, labels = 12, []
        while q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
            i += 1 + q[i]
        return ".".join(labels).lower(), i + 5  # the name, and the end of the question

    def _answer(self, q: bytes, addr) -> None:
        name, end = self._name(q)
        qtype = struct.unpack(">H", q[end - 4:end - 2])[0]
        tid = q[:2]
        question = q[12:end]
        if not (name == self.zone or name.endswith("." + self.zone)):
            reply = tid + struct.pack(">HHHHH", 0x8183, 1, 0, 0, 0) + question  # NXDOMAIN
        elif qtype == 1:  # A: 127.0.0.1, pointing back at the question's name
            rr = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 5, 4) + socket.inet_aton("127.0.0.1")
            reply = tid + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0) + question + rr
        else:  # AAAA and the rest: the name exists, no such record
            reply = tid + struct.pack(">HHHHH", 0x8180, 1, 0, 0, 0) + question
        try:
            self.sock.sendto(reply, addr)
        except OSError:
            return  # stopped
        with self.cond:
            self.answered.append((time.monotonic(), name))
            self.cond.notify_all()

    def _serve(self) -> None:
        while True:
            try:
                q, addr = self.sock.recvfrom(512)
            except OSError:
                return  # stopped
            if len(q) < 17:
                continue
            name, _ = self._name(q)
            with self.cond:
                self.queries.append((time.monotonic(), name))
                self.cond.notify_all()
                hold = name.split(".")[0] in self.held_names and not self.released
                if hold:
                    self.held.append((q, addr))
            if not hold:
                self._answer(q, addr)
