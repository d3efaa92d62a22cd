"""Enforced egress (issue #15): capabilities.proxy and network.allowOut /
denyOut. The "internet" here is a network namespace the test makes behind a
veth pair, with three addresses: a tinyproxy (and another service) on .2, and
HTTP targets on .3 and .4, so "direct" really is a different address than the
proxy. They are private addresses, which sandboxes never reach by default: the
worker gets SANDQ_NET_ALLOW for the namespace's /29 (so without a proxy or a
list the targets ARE reachable directly — each test checks that first) and
SANDQ_PROXY_ALLOW_PRIVATE=1 for the proxy.

Domain names: the worker resolves allowOut/denyOut names itself at create, so
it runs in a private mount namespace whose /etc/hosts names the targets.
Every isolation claim is tried: direct TCP, UDP, another port of the proxy's
host, DNS, IPv6, curl --noproxy, and the proxy's password in events, logs and
PostgreSQL."""
from __future__ import annotations

import base64
import json
import os
import secrets
import pathlib
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from harness import Worker, private_prefix
from sandq_client import Sandq, new_id

TERMINAL = {"sandbox.task.completed", "sandbox.task.failed"}
PASSWORD = "pw-" + secrets.token_hex(8)  # fresh per run: any trace of it in PostgreSQL is this run's
SECRET_KEY = base64.b64encode(secrets.token_bytes(32)).decode()  # the worker key that seals credentials

HTTP_TARGET = r"""
import http.server, sys
name, log = sys.argv[3], open(sys.argv[4], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        log.write(f"{self.client_address[0]} {self.path}\n")
        body = f"<html><body><p id=t>{name}</p></body></html>".encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
"""

# A forward proxy that answers wrong credentials as RFC 9110 says (and Squid
# does): 407 with a Proxy-Authenticate challenge. (tinyproxy answers wrong
# credentials with a 401, which a browser cannot tell from the site's own.)
STRICT_PROXY = r"""
import base64, http.server, sys, urllib.request
want = "Basic " + base64.b64encode(open(sys.argv[3]).read().encode()).decode()
direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.headers.get("Proxy-Authorization") != want:
            body = b"<html><body>proxy authentication required</body></html>"
            self.send_response(407); self.send_header("Proxy-Authenticate", 'Basic realm="strict"')
            self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
            return
        with direct.open(self.path, timeout=10) as r:
            body = r.read()
        self.send_response(r.status); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
"""

UDP_ECHO = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, peer = s.recvfrom(512); s.sendto(b"echo:" + d, peer)
"""

BANNER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8)
while True:
    c, _ = s.accept(); c.recv(64); c.sendall(b"other-service"); c.close()
"""

# Tries each way out; prints {name: result}.
PROBE = r"""
import json, socket, struct, sys
spec = json.loads(sys.argv[1])
out = {}
for name, (kind, host, port) in spec.items():
    try:
        if kind == "tcp":
            c = socket.create_connection((host, port), timeout=4)
            c.sendall(b"GET / HTTP/1.0\r\n\r\n")
            data = b""
            while len(data) < 65536:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            out[name] = "open:" + data.decode(errors="replace").split("\r\n\r\n")[-1]
        elif kind == "udp":
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(3)
            u.sendto(b"ping", (host, port)); out[name] = "open:" + u.recv(512).decode()
        elif kind == "dns":
            q = b"\x12\x34\x01\x00" + struct.pack(">HHHH", 1, 0, 0, 0) + b"\x07example\x03com\x00\x00\x01\x00\x01"
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(3)
            u.sendto(q, (host, port)); u.recv(512); out[name] = "open"
        elif kind == "tcp6":
            c = socket.socket(socket.AF_INET6); c.settimeout(4); c.connect((host, port)); out[name] = "open"
    except OSError as e:
        out[name] = type(e).__name__
print(json.dumps(out))
"""


def run_sh(*a: str) -> None:
    subprocess.run(list(a), check=True)


@pytest.fixture(scope="module")
def outside():
    """The namespace standing in for the internet: tinyproxy without auth on
    .2:8888 and with auth on .2:8889, a strict proxy (407 on wrong
    credentials) on .2:8890, a banner on .2:8999, HTTP targets on
    .3:8080 and .4:8080, a UDP echo on .3:5353."""
    if not shutil.which("tinyproxy"):
        pytest.fail("tinyproxy is missing: scripts/setup installs it")
    tag = os.getpid() % 10000
    ns, host_if, ns_if = f"sqeg{tag}", f"sqeh{tag}", f"sqen{tag}"
    net = f"10.214.{tag % 250}"
    d = pathlib.Path(tempfile.mkdtemp(prefix="sandq-egress-"))
    os.chmod(d, 0o755)
    procs = []
    run_sh("ip", "netns", "add", ns)
    try:
        run_sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        run_sh("ip", "link", "set", ns_if, "netns", ns)
        run_sh("ip", "addr", "add", f"{net}.1/29", "dev", host_if)
        run_sh("ip", "link", "set", host_if, "up")
        for last in (2, 3, 4):
            run_sh("ip", "-n", ns, "addr", "add", f"{net}.{last}/29", "dev", ns_if)
        run_sh("ip", "-n", ns, "link", "set", ns_if, "up")
        run_sh("ip", "-n", ns, "link", "set", "lo", "up")

        def spawn(*argv: str) -> None:
            procs.append(subprocess.Popen(["ip", "netns", "exec", ns, *argv],
                                          stdout=subprocess.DEVNULL, stderr=open(d / "servers.err", "ab")))

        for port, auth in ((8888, ""), (8889, f"BasicAuth user {PASSWORD}\n")):
            conf = d / f"tinyproxy-{port}.conf"
            conf.write_text(f"User nobody\nGroup nogroup\nPort {port}\nListen {net}.2\nTimeout 30\n"
                            f"MaxClients 20\nAllow {net}.0/29\nDisableViaHeader Yes\nLogLevel Info\n"
                            f"ConnectPort 8080\n{auth}")
            spawn("tinyproxy", "-d", "-c", str(conf))
        for last in (3, 4):
            (d / f"target{last}.log").touch()
            spawn(sys.executable, "-c", HTTP_TARGET, f"{net}.{last}", "8080", f"target-{last}",
                  str(d / f"target{last}.log"))
        spawn(sys.executable, "-c", UDP_ECHO, f"{net}.3", "5353")
        spawn(sys.executable, "-c", BANNER, f"{net}.2", "8999")
        (d / "strict.auth").write_text(f"user:{PASSWORD}")  # a file: no secret on a command line
        spawn(sys.executable, "-c", STRICT_PROXY, f"{net}.2", "8890", str(d / "strict.auth"))
        time.sleep(1.0)
        assert all(p.poll() is None for p in procs), (d / "servers.err").read_text()
        hosts = d / "hosts"
        hosts.write_text(pathlib.Path("/etc/hosts").read_text() +
                         f"\n{net}.3 t3.egress.test both.egress.test\n{net}.4 t4.egress.test both.egress.test\n"
                         f"{net}.2 proxy.egress.test\n")
        yield {"net": net, "dir": d, "hosts": hosts}
    finally:
        for p in procs:
            p.kill()
            p.wait()
        subprocess.run(["ip", "link", "del", host_if], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def egress(stack_env, outside):
    """One worker for the module: the namespace's /29 allowed, private proxies
    allowed, and /etc/hosts (its own mount namespace) naming the targets."""
    prefix = private_prefix(stack_env["brokers"], "egress")
    client = Sandq(stack_env["brokers"], prefix)
    old = os.environ.get("SANDQ_WORKER_LAUNCHER", "")
    os.environ["SANDQ_WORKER_LAUNCHER"] = (
        old + " unshare -m --propagation private sh -c "
        + shlex.quote(f'mount --bind {outside["hosts"]} /etc/hosts && exec "$@"') + " sh")
    try:
        w = Worker("w-egress", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix,
                                "SANDQ_NET_ALLOW": f"{outside['net']}.0/29",
                                "SANDQ_PROXY_ALLOW_PRIVATE": "1", "SANDQ_WEBHOOK_SECRET_KEY": SECRET_KEY}).start()
    finally:
        os.environ["SANDQ_WORKER_LAUNCHER"] = old
    yield {"client": client, "worker": w, **outside}
    assert w.stop() == 0


class Sbx:
    def __init__(self, client: Sandq, body: dict, expect_ready: bool = True):
        self.client, self.id = client, new_id("sbx")
        self.s = client.stream(self.id)
        client.send(client.envelope("sandbox.create", self.id, body))
        self.first = self.s.wait_for(lambda e: e["type"] in {"sandbox.ready", "sandbox.failed", "request.rejected"},
                                     120)
        if expect_ready:
            assert self.first["type"] == "sandbox.ready", self.first

    def exec(self, command: str, args: list[str], timeout: int = 60, env: dict | None = None) -> tuple[int, str]:
        body = {"command": command, "args": args, "timeoutMs": timeout * 1000, **({"env": env} if env else {})}
        req = self.client.send(self.client.envelope("task.exec", self.id, body))
        end = self.s.for_request(req["requestId"], TERMINAL, timeout=timeout + 30)
        assert end["type"] == "sandbox.task.completed", end
        out = "".join(e["data"].get("data", "") for e in self.s.seen if e["type"] == "sandbox.task.output"
                      and e["requestId"] == req["requestId"] and e["data"]["stream"] == "stdout")
        return end["data"]["exitCode"], out

    def probe(self, spec: dict) -> dict:
        code, out = self.exec("python3", ["-c", PROBE, json.dumps(spec)])
        assert code == 0, out
        return json.loads(out)

    def kill(self) -> None:
        if self.first["type"] == "sandbox.ready":
            k = self.client.send(self.client.envelope("sandbox.kill", self.id))
            self.s.for_request(k["requestId"], {"sandbox.ended", "request.rejected"}, timeout=60)
        self.s.close()


def assert_password_nowhere(sb: "Sbx", pg, rds, worker: Worker) -> None:
    """The proxy's password is in no event of the sandbox, no row of any
    PostgreSQL table, no Redis key of the sandbox and no worker log line."""
    events = json.dumps(sb.s.seen)
    assert PASSWORD not in events and "user:***@" in events
    tables = [t for (t,) in pg.execute("SELECT table_name FROM information_schema.tables "
                                       "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'").fetchall()]
    assert "sandboxes" in tables and "events" in tables
    for table in tables:
        (n,) = pg.execute(f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE %s', (f"%{PASSWORD}%",)).fetchone()
        assert n == 0, f"the proxy password is in {table}"
    for key in rds.scan_iter(f"*{sb.id}*"):
        kind = rds.type(key)
        value = {"string": lambda: rds.get(key), "hash": lambda: rds.hgetall(key),
                 "list": lambda: rds.lrange(key, 0, -1), "set": lambda: rds.smembers(key),
                 "zset": lambda: rds.zrange(key, 0, -1),
                 "stream": lambda: rds.xrange(key)}.get(kind, lambda: "")()
        assert PASSWORD not in json.dumps(value, default=str), key
    assert PASSWORD not in worker.log_text()


def host_cmdlines_with(secret: str) -> list[str]:
    """Every process on the host whose command line holds secret (what `ps`
    shows anyone on the host)."""
    found = []
    for proc in pathlib.Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes()
            except OSError:
                continue  # gone meanwhile
            if secret.encode() in cmd:
                found.append(proc.name + ": " + cmd.replace(b"\0", b" ").decode(errors="replace"))
    return found


def test_without_a_proxy_the_targets_are_reachable_directly(egress):
    """The control: the other tests' "direct fails" means something."""
    net = egress["net"]
    sb = Sbx(egress["client"], {"network": "internet"})
    try:
        res = sb.probe({"t3": ["tcp", f"{net}.3", 8080], "t4": ["tcp", f"{net}.4", 8080],
                        "udp": ["udp", f"{net}.3", 5353], "other": ["tcp", f"{net}.2", 8999]})
    finally:
        sb.kill()
    assert res == {"t3": "open:<html><body><p id=t>target-3</p></body></html>",
                   "t4": "open:<html><body><p id=t>target-4</p></body></html>",
                   "udp": "open:echo:ping", "other": "open:other-service"}, res


def test_with_a_proxy_only_the_proxy_is_reachable(egress, pg, rds):
    net, d = egress["net"], egress["dir"]
    url = f"http://user:{PASSWORD}@{net}.2:8889"
    sb = Sbx(egress["client"], {"network": "internet", "capabilities": {"proxy": {"url": url}}})
    try:
        assert sb.first["data"]["proxy"] == f"http://user:***@{net}.2:8889", sb.first["data"]
        # Through the proxy: curl reads http_proxy (the worker set it), and the
        # target sees the proxy's address, not the sandbox's.
        before = (d / "target3.log").read_text()
        code, out = sb.exec("curl", ["-sS", "--max-time", "20", f"http://{net}.3:8080/via-proxy"])
        assert code == 0 and "target-3" in out, out
        assert f"{net}.2 /via-proxy" in (d / "target3.log").read_text()[len(before):]
        # (Compared inside, not printed: the sandbox's own output is its business.)
        code, out = sb.exec("sh", ["-c", 'for v in "$HTTP_PROXY" "$http_proxy" "$HTTPS_PROXY" "$https_proxy" '
                                         '"$ALL_PROXY" "$all_proxy"; do [ "$v" = "$EXPECT" ] || exit 1; done; '
                                         'echo "$NO_PROXY"'], env={"EXPECT": url})
        assert code == 0 and out.strip() == "localhost,127.0.0.1,::1", out
        # Python's urllib through the same variables.
        code, out = sb.exec("python3", ["-c", "import urllib.request as u; "
                                              f"print(u.urlopen('http://{net}.4:8080/py', timeout=20).read().decode())"])
        assert code == 0 and "target-4" in out, out
        # Everything else fails: curl told to ignore the proxy, direct TCP to
        # the target, UDP, another port of the proxy's own host, DNS to
        # slirp's relay, the proxy without its credentials... (that one the
        # proxy refuses: 407), and IPv6.
        code, out = sb.exec("curl", ["-sS", "--noproxy", "*", "--max-time", "10", f"http://{net}.3:8080/direct"])
        assert code != 0, out
        res = sb.probe({"direct": ["tcp", f"{net}.3", 8080], "udp": ["udp", f"{net}.3", 5353],
                        "other_port": ["tcp", f"{net}.2", 8999], "other_proxy": ["tcp", f"{net}.2", 8888],
                        "dns": ["dns", "10.0.2.3", 53], "v6": ["tcp6", "2001:db8::1", 80]})
        assert res["direct"] == "ConnectionRefusedError", res
        assert res["other_port"] == "ConnectionRefusedError", res
        assert res["other_proxy"] == "ConnectionRefusedError", res
        assert not res["udp"].startswith("open"), res
        assert res["dns"] != "open", res
        assert res["v6"] != "open", res
        assert "/direct" not in (d / "target3.log").read_text()
    finally:
        sb.kill()
    # The password is in no event, no PostgreSQL row and no log line.
    assert_password_nowhere(sb, pg, rds, egress["worker"])
    row = pg.execute("SELECT capabilities FROM sandboxes WHERE id = %s", (sb.id,)).fetchone()
    assert row and row[0]["proxy"]["url"] == f"http://user:***@{net}.2:8889", row
    # sealed with the worker key (AES-256-GCM, sq_wh_box_seal), not in clear
    assert row[0]["proxy"]["credentialsSealed"].startswith("v1:"), row


def test_a_proxy_named_by_a_host_name_works_without_dns(egress):
    """DNS is closed with a proxy: the sandbox finds the proxy's name in its
    /etc/hosts, at the address the worker resolved and pinned."""
    net, d = egress["net"], egress["dir"]
    sb = Sbx(egress["client"], {"network": "internet",
                                "capabilities": {"proxy": {"url": "http://proxy.egress.test:8888"}}})
    try:
        before = (d / "target3.log").read_text()
        code, out = sb.exec("curl", ["-sS", "--max-time", "20", f"http://{net}.3:8080/named"])
        assert code == 0 and "target-3" in out, out
        assert f"{net}.2 /named" in (d / "target3.log").read_text()[len(before):]
        code, out = sb.exec("sh", ["-c", "getent hosts proxy.egress.test; getent hosts t3.egress.test; echo rc=$?"])
        assert out.split() == [f"{net}.2", "proxy.egress.test", "rc=2"], out
    finally:
        sb.kill()


def test_the_browser_goes_through_the_proxy(egress):
    net, d = egress["net"], egress["dir"]
    sb = Sbx(egress["client"], {"network": "internet", "limits": {"memoryMb": 1024},
                                # the seed's name for the same proxy
                                "capabilities": {"browser": {"byoProxyUrl": f"http://{net}.2:8888"}}})
    try:
        before = (d / "target4.log").read_text()
        req = egress["client"].send(egress["client"].envelope("task.browser", sb.id, {"actions": [
            {"op": "goto", "url": f"http://{net}.4:8080/browser"},
            {"op": "evaluate", "expression": "document.getElementById('t').textContent"}]}))
        end = sb.s.for_request(req["requestId"], TERMINAL | {"request.rejected"}, timeout=120)
        assert end["type"] == "sandbox.task.completed", end
        assert end["data"]["result"]["actions"][1]["value"] == "target-4"
        assert f"{net}.2 /browser" in (d / "target4.log").read_text()[len(before):]
        # And the browser's sandbox cannot go around it.
        assert sb.probe({"direct": ["tcp", f"{net}.4", 8080]})["direct"] == "ConnectionRefusedError"
    finally:
        sb.kill()


def browse(egress, sb: Sbx, actions: list[dict]) -> dict:
    req = egress["client"].send(egress["client"].envelope("task.browser", sb.id, {"actions": actions}))
    return sb.s.for_request(req["requestId"], TERMINAL | {"request.rejected"}, timeout=120)


RELAY_PORT = 39128  # worker/src/caps/browser/relay.h, on the sandbox's own 127.0.0.1
# The relay's supervising loops (the sh that restarts tinyproxy).
RELAY_LOOPS = ("import os\n"
               "print(sum(1 for p in os.listdir('/proc') if p.isdigit() and "
               "open(f'/proc/{p}/cmdline', 'rb').read().startswith(b'/bin/sh\\0-c\\0while :')))")
RELAY_PIDS = ("import os\n"
              "print(' '.join(p for p in os.listdir('/proc') if p.isdigit() and "
              "open(f'/proc/{p}/comm').read().strip() == 'tinyproxy'))")


def test_the_browser_goes_through_a_proxy_with_credentials(egress, pg, rds):
    """Chromium takes no credentials: a relay in the sandbox (tinyproxy on
    127.0.0.1) adds them. The page comes through the proxy that wants them;
    direct stays closed; the password is on no host command line and in no
    event, row, key or log line; a relay that dies is started again; commands
    keep using the proxy themselves."""
    net, d = egress["net"], egress["dir"]
    url = f"http://user:{PASSWORD}@{net}.2:8889"
    sb = Sbx(egress["client"], {"network": "internet", "limits": {"memoryMb": 1024},
                                "capabilities": {"browser": {}, "proxy": {"url": url},
                                                 "recording": {"enabled": True}}})
    try:
        assert sb.first["data"]["proxy"] == f"http://user:***@{net}.2:8889", sb.first["data"]
        before = (d / "target4.log").read_text()
        end = browse(egress, sb, [{"op": "goto", "url": f"http://{net}.4:8080/cred-browser"},
                                  {"op": "evaluate", "expression": "document.getElementById('t').textContent"}])
        assert end["type"] == "sandbox.task.completed", end
        assert end["data"]["result"]["actions"][1]["value"] == "target-4"
        # The target saw the proxy (so the proxy took the credentials), not the sandbox.
        assert f"{net}.2 /cred-browser" in (d / "target4.log").read_text()[len(before):]
        # Nothing on the host shows the password on a command line: not the
        # browser, not the relay, not the steps that started them.
        assert host_cmdlines_with(PASSWORD) == []
        # Direct is still closed, for the browser's sandbox as for any.
        assert sb.probe({"direct": ["tcp", f"{net}.4", 8080]})["direct"] == "ConnectionRefusedError"
        # Kill the relay: its loop starts it again, and the browser goes on.
        code, pids = sb.exec("python3", ["-c", RELAY_PIDS])
        assert code == 0 and len(pids.split()) == 1, pids
        code, out = sb.exec("sh", ["-c", f"kill -KILL {pids.strip()}; i=0; "
                                         f"until grep -q ':{RELAY_PORT:04X} 00000000:0000 0A' /proc/net/tcp; do "
                                         "i=$((i+1)); [ $i -lt 300 ] || exit 7; sleep 0.1; done"])
        if code != 0:
            _, diag = sb.exec("sh", ["-c", "cd /tmp/.sandq-relay; ls -la; cat restarts.log relay.log pid; "
                                           "for p in /proc/[0-9]*; do echo $p $(tr '\\0' ' ' <$p/cmdline); done"])
            pytest.fail("the relay did not come back:\n" + diag)
        code, again = sb.exec("python3", ["-c", RELAY_PIDS])
        assert code == 0 and len(again.split()) == 1 and again.split() != pids.split(), (pids, again)
        end = browse(egress, sb, [{"op": "goto", "url": f"http://{net}.4:8080/after-restart"},
                                  {"op": "evaluate", "expression": "document.getElementById('t').textContent"}])
        assert end["type"] == "sandbox.task.completed", end
        assert end["data"]["result"]["actions"][1]["value"] == "target-4"
        # The restart action stops the relay with the browser and starts a
        # new one: one relay, not two.
        end = browse(egress, sb, [{"op": "restart"}, {"op": "goto", "url": f"http://{net}.4:8080/after-action"},
                                  {"op": "evaluate", "expression": "document.getElementById('t').textContent"}])
        assert end["type"] == "sandbox.task.completed", end
        assert end["data"]["result"]["actions"][2]["value"] == "target-4"
        code, third = sb.exec("python3", ["-c", RELAY_PIDS])
        assert code == 0 and len(third.split()) == 1 and third.split() != again.split(), (again, third)
        code, loops = sb.exec("python3", ["-c", RELAY_LOOPS])
        assert code == 0 and loops.strip() == "1", loops  # the old loop went with its relay
        # Commands are unaffected: curl still authenticates by itself.
        code, out = sb.exec("curl", ["-sS", "--max-time", "20", f"http://{net}.3:8080/cred-curl"])
        assert code == 0 and "target-3" in out, out
        assert host_cmdlines_with(PASSWORD) == []
        assert_password_nowhere(sb, pg, rds, egress["worker"])  # Redis while the sandbox lives, too
    finally:
        sb.kill()
    assert_password_nowhere(sb, pg, rds, egress["worker"])


def test_the_browser_with_a_wrong_proxy_password_fails_cleanly(egress):
    """A proxy that refuses the relay's credentials with a 407 challenge: the
    goto fails navigation_failed (Chromium would show the 407 as the page),
    the right password through the same proxy works, and the sandbox stays
    usable."""
    net, d = egress["net"], egress["dir"]
    wrong = "not-" + PASSWORD
    sb = Sbx(egress["client"], {"network": "internet", "limits": {"memoryMb": 1024},
                                "capabilities": {"browser": {},
                                                 "proxy": {"url": f"http://user:{wrong}@{net}.2:8890"}}})
    try:
        before = (d / "target4.log").read_text()
        end = browse(egress, sb, [{"op": "goto", "url": f"http://{net}.4:8080/wrong"}])
        assert end["type"] == "sandbox.task.failed", end
        assert (end["data"]["reason"], end["data"]["code"]) == ("navigation_failed", "invalid_request"), end
        assert "the proxy refused the sandbox's proxy credentials" in end["data"]["message"], end
        assert "/wrong" not in (d / "target4.log").read_text()[len(before):]
        assert host_cmdlines_with(wrong) == []
        # Still usable, and a page that is no refusal is no failure.
        code, out = sb.exec("echo", ["alive"])
        assert code == 0 and out.strip() == "alive"
        end = browse(egress, sb, [{"op": "goto", "url": "about:blank"}])
        assert end["type"] == "sandbox.task.completed", end
    finally:
        sb.kill()
    assert wrong not in json.dumps(sb.s.seen)
    # The control: the right password through the same strict proxy.
    sb = Sbx(egress["client"], {"network": "internet", "limits": {"memoryMb": 1024},
                                "capabilities": {"browser": {},
                                                 "proxy": {"url": f"http://user:{PASSWORD}@{net}.2:8890"}}})
    try:
        end = browse(egress, sb, [{"op": "goto", "url": f"http://{net}.4:8080/strict-ok"},
                                  {"op": "evaluate", "expression": "document.getElementById('t').textContent"}])
        assert end["type"] == "sandbox.task.completed", end
        assert end["data"]["result"]["actions"][1]["value"] == "target-4"
    finally:
        sb.kill()


def test_https_pages_tunnel_through_the_relay_with_credentials(egress):
    """https:// goes as CONNECT through the relay, credentials added: with the
    right password the tunnel to the target opens (and TLS then fails: the
    target speaks plain HTTP), with a wrong one the tunnel is refused and the
    goto fails at once, with Chromium's own reason."""
    net = egress["net"]
    outcome = {}
    for name, pw in (("right", PASSWORD), ("wrong", "not-" + PASSWORD)):
        sb = Sbx(egress["client"], {"network": "internet", "limits": {"memoryMb": 1024},
                                    "capabilities": {"browser": {},
                                                     "proxy": {"url": f"http://user:{pw}@{net}.2:8889"}}})
        try:
            end = browse(egress, sb, [{"op": "goto", "url": f"https://{net}.4:8080/tls"}])
        finally:
            sb.kill()
        assert end["type"] == "sandbox.task.failed" and end["data"]["reason"] == "navigation_failed", end
        outcome[name] = end["data"]["message"]
    assert "net::ERR_SSL_PROTOCOL_ERROR" in outcome["right"], outcome
    assert "net::ERR_TUNNEL_CONNECTION_FAILED" in outcome["wrong"], outcome


@pytest.mark.parametrize("url, why", [
    ("socks5h://user:{pw}@{net}.2:8889", "http:// proxies only"),
    ("http://user:a%40{pw}@{net}.2:8889", "'@'"),
])
def test_a_browser_with_credentials_the_relay_cannot_carry_is_refused(egress, url, why):
    sb = Sbx(egress["client"], {"network": "internet", "limits": {"memoryMb": 1024},
                                "capabilities": {"browser": {},
                                                 "proxy": {"url": url.format(pw=PASSWORD, net=egress["net"])}}},
             expect_ready=False)
    sb.kill()
    assert sb.first["type"] == "request.rejected", sb.first
    assert sb.first["data"]["code"] == "capability_unavailable"
    assert sb.first["data"]["field"] == "body.capabilities.proxy.url"
    assert why in sb.first["data"]["message"], sb.first
    assert PASSWORD not in json.dumps(sb.s.seen)


@pytest.mark.parametrize("lists, open_, closed", [
    ({"allowOut": ["{net}.3/32"]}, "t3", "t4"),
    ({"denyOut": ["{net}.3"]}, "t4", "t3"),
    ({"allowOut": ["{net}.0/29"], "denyOut": ["{net}.4/32"]}, "t3", "t4"),  # deny wins
    ({"allowOut": ["t3.egress.test"]}, "t3", "t4"),
    ({"denyOut": ["t4.egress.test"]}, "t3", "t4"),
    ({"allowOut": ["both.egress.test"], "denyOut": ["t3.egress.test"]}, "t4", "t3"),
])
def test_allow_and_deny_lists(egress, lists, open_, closed):
    net = egress["net"]
    network = {"mode": "internet", **{k: [x.format(net=net) for x in v] for k, v in lists.items()}}
    sb = Sbx(egress["client"], {"network": network})
    try:
        res = sb.probe({"t3": ["tcp", f"{net}.3", 8080], "t4": ["tcp", f"{net}.4", 8080],
                        "udp3": ["udp", f"{net}.3", 5353]})
    finally:
        sb.kill()
    assert res[open_].startswith("open:") and f"target-{open_[1]}" in res[open_], res
    assert res[closed] == "ConnectionRefusedError", res
    # UDP follows the same lists.
    assert res["udp3"].startswith("open") == (open_ == "t3"), res


@pytest.mark.parametrize("body, code, field", [
    ({"network": {"mode": "internet", "allowOut": ["not a name!"]}}, "invalid_request", "body.network.allowOut[0]"),
    ({"network": {"mode": "internet", "denyOut": ["1.2.3.4", "::1/128"]}}, "invalid_request",
     "body.network.denyOut[1]"),
    ({"network": {"mode": "internet", "allowOut": ["10.0.0.1/8"]}}, "invalid_request", "body.network.allowOut[0]"),
    ({"network": {"mode": "internet", "allowOut": ["nothing-here.invalid"]}}, "invalid_request",
     "body.network.allowOut[0]"),
    ({"network": {"mode": "internet", "allowOut": []}}, "invalid_request", "body.network.allowOut"),
    ({"network": {"mode": "none", "denyOut": ["1.2.3.4"]}}, "invalid_request", "body.network.denyOut"),
    ({"network": {"mode": "internet", "extra": 1}}, "invalid_request", "body.network.extra"),
    ({"network": "none", "capabilities": {"proxy": {"url": "http://192.0.2.1:3128"}}}, "invalid_request",
     "body.capabilities.proxy.url"),
    ({"network": "internet", "capabilities": {"proxy": {"url": "ftp://192.0.2.1:3128"}}}, "invalid_request",
     "body.capabilities.proxy.url"),
    ({"network": "internet", "capabilities": {"proxy": {"url": "http://127.0.0.1:3128"}}}, "forbidden",
     "body.capabilities.proxy.url"),
    ({"network": "internet", "capabilities": {"proxy": {"url": "http://169.254.169.254:80"}}}, "forbidden",
     "body.capabilities.proxy.url"),
    ({"network": {"mode": "internet", "allowOut": ["1.2.3.4"]},
      "capabilities": {"proxy": {"url": "http://192.0.2.1:3128"}}}, "invalid_request", "body.network.allowOut"),
])
def test_bad_egress_settings_are_rejected(egress, body, code, field):
    sb = Sbx(egress["client"], body, expect_ready=False)
    sb.kill()
    assert sb.first["type"] == "request.rejected", sb.first
    assert (sb.first["data"]["code"], sb.first["data"].get("field")) == (code, field), sb.first


def test_a_private_proxy_needs_the_worker_setting(stack_env, outside):
    """Without SANDQ_PROXY_ALLOW_PRIVATE a proxy on a private address is
    forbidden, even where SANDQ_NET_ALLOW would let the sandbox reach it."""
    prefix = private_prefix(stack_env["brokers"], "egress-priv")
    client = Sandq(stack_env["brokers"], prefix)
    w = Worker("w-egress-priv", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix,
                                 "SANDQ_NET_ALLOW": f"{outside['net']}.0/29"}).start()
    try:
        sb = Sbx(client, {"network": "internet", "capabilities": {"proxy": {"url": f"http://{outside['net']}.2:8888"}}},
                 expect_ready=False)
        sb.kill()
    finally:
        assert w.stop() == 0
    assert sb.first["type"] == "request.rejected", sb.first
    assert (sb.first["data"]["code"], sb.first["data"]["field"]) == ("forbidden", "body.capabilities.proxy.url")
    assert "SANDQ_PROXY_ALLOW_PRIVATE" in sb.first["data"]["message"]
