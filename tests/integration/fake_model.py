"""fake_model.py — a scripted OpenAI-compatible chat-completions server on
loopback, Python standard library only, for the agent tests (no internet).

It answers each POST …/chat/completions with the next turn of its script and
records every request (path, headers, JSON body). A turn is a dict:

  {"text": "…"}                              a final answer (no tool calls)
  {"calls": [("bash", {"command": "ls"}), …]} tool calls (arguments as a dict,
                                              or a raw string to send as is)
  {"content_null": True, "calls": …}         content null next to the calls
  {"status": 429, "headers": {…}, "raw": "…"} any HTTP answer, verbatim
  {"error_200": {"message": …, "code": …}}   HTTP 200 whose body is an error
  {"hang": seconds}                          answer nothing for that long

with options "sse" (default: the request's own `stream`), "split" (write the
SSE body in pieces of that many bytes, each flushed on its own, so fragments
arrive split across reads), "comments" (": OPENROUTER PROCESSING" lines),
"usage" ({prompt_tokens, completion_tokens, cost?}). Tool-call arguments are
always streamed in several fragments per call, interleaved across parallel
calls, as real providers do. Past the end of the script it answers 500."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeModel:
    def __init__(self, script: list[dict] | None = None):
        self.script = list(script or [])
        self.requests: list[dict] = []
        self.title_requests: list[dict] = []
        self.title: str | None = "A fake title"
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *a):  # quiet
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                rec = {"path": self.path, "headers": dict(self.headers.items()), "body": body,
                       "at": time.monotonic()}
                if isinstance(body, dict) and "tools" not in body:
                    with fake.cond:
                        fake.title_requests.append(rec)
                        title = fake.title
                    if title is None:
                        return fake._raw(self, 500, {}, json.dumps({"error": {"message": "no title today"}}))
                    return fake._raw(self, 200, {}, json.dumps({"choices": [{"message": {
                        "role": "assistant", "content": title}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 20, "completion_tokens": 4}}))
                with fake.cond:
                    fake.requests.append(rec)
                    turn = fake.script.pop(0) if fake.script else None
                    fake.cond.notify_all()
                fake._answer(self, turn, body or {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/api/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def set_script(self, script: list[dict], title: str | None = "A fake title"):
        with self.lock:
            self.script = list(script)
            self.requests = []
            self.title_requests = []
            self.title = title

    def wait_requests(self, n: int, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.requests) < n and time.monotonic() < deadline:
                self.cond.wait(0.1)
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # ---- answers ----

    def _answer(self, h: BaseHTTPRequestHandler, turn: dict | None, req: dict):
        if turn is None:
            return self._raw(h, 500, {}, json.dumps({"error": {"message": "fake model: script exhausted"}}))
        if "hang" in turn:
            time.sleep(turn["hang"])
            return self._raw(h, 500, {}, "{}")
        if "status" in turn:
            return self._raw(h, turn["status"], turn.get("headers", {}), turn.get("raw", ""))
        if "error_200" in turn:
            return self._raw(h, 200, {}, json.dumps({"error": turn["error_200"]}))
        usage = turn.get("usage", {"prompt_tokens": 100, "completion_tokens": 10})
        calls = []
        for i, (name, args) in enumerate(turn.get("calls", [])):
            calls.append({"id": turn.get("ids", {}).get(i, f"call_{len(self.requests)}_{i}"), "name": name,
                          "arguments": args if isinstance(args, str) else json.dumps(args)})
        text = None if turn.get("content_null") else turn.get("text", "" if calls else "done")
        sse = turn.get("sse", bool(req.get("stream")))
        if not sse:
            msg = {"role": "assistant", "content": text}
            if calls:
                msg["tool_calls"] = [{"id": c["id"], "type": "function",
                                      "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls]
            body = {"id": "gen-1", "object": "chat.completion", "model": req.get("model"),
                    "choices": [{"index": 0, "message": msg, "finish_reason": "tool_calls" if calls else "stop"}],
                    "usage": usage}
            return self._raw(h, 200, {"Content-Type": "application/json"}, json.dumps(body))
        self._sse(h, text, calls, usage, turn.get("split"), turn.get("comments", True))

    @staticmethod
    def _raw(h, status: int, headers: dict, body: str):
        data = body.encode()
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        if "Content-Type" not in headers:
            h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    @staticmethod
    def _sse(h, text, calls, usage, split, comments):
        events = []
        if comments:
            events.append(": OPENROUTER PROCESSING\n\n")

        def chunk(delta, finish=None):
            return "data: " + json.dumps({"id": "gen-1", "object": "chat.completion.chunk",
                                          "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}) + "\n\n"

        events.append(chunk({"role": "assistant", "content": "" if text is not None else None}))
        if text:
            for i in range(0, len(text), 5):
                events.append(chunk({"content": text[i:i + 5]}))
        if comments:
            events.append(": OPENROUTER PROCESSING\n\n")
        for i, c in enumerate(calls):
            events.append(chunk({"tool_calls": [{"index": i, "id": c["id"], "type": "function",
                                                 "function": {"name": c["name"], "arguments": ""}}]}))
        # Arguments in three fragments per call, interleaved across calls.
        pieces = []
        for c in calls:
            a = c["arguments"]
            k = max(1, len(a) // 3)
            pieces.append([a[:k], a[k:2 * k], a[2 * k:]])
        for part in range(3):
            for i, p in enumerate(pieces):
                if p[part]:
                    events.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": p[part]}}]}))
        events.append(chunk({}, "tool_calls" if calls else "stop"))
        events.append("data: " + json.dumps({"id": "gen-1", "choices": [], "usage": usage}) + "\n\n")
        events.append("data: [DONE]\n\n")
        data = "".join(events).encode()
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        h.end_headers()
        if split:
            for i in range(0, len(data), split):
                h.wfile.write(data[i:i + split])
                h.wfile.flush()
                time.sleep(0.0005)
        else:
            h.wfile.write(data)
        h.wfile.flush()
