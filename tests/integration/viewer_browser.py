"""A real browser for tests that play the person at the viewer: Debian's
chromium-headless-shell on the host, driven over --remote-debugging-pipe
(fds 3 and 4, NUL-terminated JSON) straight from Python, so no client
library is needed. One page, attached with a flattened session."""
from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time

BINARY = os.environ.get("SANDQ_VIEWER_BROWSER") or shutil.which("chromium-headless-shell") or \
    "/usr/bin/chromium-headless-shell"


class ViewerBrowser:
    def __init__(self, width: int = 1000, height: int = 800):
        self.profile = tempfile.mkdtemp(prefix="sandq-viewer-")
        to_r, self._to = os.pipe()      # we write calls; the browser reads fd 3
        self._from, from_w = os.pipe()  # the browser writes fd 4
        # Well above 3 and 4, so that putting them there cannot clobber one another.
        to_r, from_w = [self._high(fd) for fd in (to_r, from_w)]
        # The browser reads fd 3 and writes fd 4: a shell puts our pipe ends there.
        shell = f'exec "$0" "$@" 3<&{to_r} 4>&{from_w} {to_r}<&- {from_w}>&-'
        self.proc = subprocess.Popen(
            ["bash", "-c", shell, BINARY, "--remote-debugging-pipe", "--no-sandbox", "--headless",
             f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "--no-first-run", "about:blank"],
            pass_fds=(to_r, from_w), stdout=subprocess.DEVNULL, stderr=None if os.environ.get("SANDQ_VIEWER_DEBUG") else subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
        self.call("Page.enable", session=self.session)
        self.call("Runtime.enable", session=self.session)

    @staticmethod
    def _high(fd: int) -> int:
        import fcntl
        hi = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 20)
        os.close(fd)
        return hi

    def _read(self, timeout: float) -> dict | None:
        while b"\0" not in self._buf:
            r, _, _ = select.select([self._from], [], [], timeout)
            if not r:
                return None
            chunk = os.read(self._from, 1 << 20)
            if not chunk:
                raise RuntimeError("the viewer browser exited")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30):
        self._id += 1
        m = {"id": self._id, "method": method, "params": params or {}}
        if session:
            m["sessionId"] = session
        os.write(self._to, json.dumps(m).encode() + b"\0")
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            msg = self._read(max(0.0, end - time.monotonic()))
            if msg is None:
                break
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)
        raise TimeoutError(f"{method}: no answer in {timeout} s")

    def page(self, method: str, params: dict | None = None, timeout: float = 30):
        return self.call(method, params, self.session, timeout)

    def eval(self, expression: str, timeout: float = 30):
        r = self.page("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                      timeout)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def goto(self, url: str) -> None:
        self.page("Page.navigate", {"url": url})
        end = time.monotonic() + 30
        while time.monotonic() < end and self.eval("document.readyState") != "complete":
            time.sleep(0.1)

    def mouse(self, type_: str, x: float, y: float, button: str = "left", clicks: int = 1) -> None:
        self.page("Input.dispatchMouseEvent", {"type": type_, "x": x, "y": y, "button": button,
                                               "clickCount": clicks})

    def click(self, x: float, y: float) -> None:
        self.mouse("mouseMoved", x, y, "none", 0)
        self.mouse("mousePressed", x, y)
        self.mouse("mouseReleased", x, y)

    def close(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(10)
        finally:
            os.close(self._to)
            os.close(self._from)
            shutil.rmtree(self.profile, ignore_errors=True)
