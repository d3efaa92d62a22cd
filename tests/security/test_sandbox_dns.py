"""DNS of internet-mode sandboxes (issue #10). By default slirp4netns relays
10.0.2.3:53 to whatever the host's /etc/resolv.conf names — a loopback
service such as 127.0.0.53 included (--disable-host-loopback covers only the
gateway 10.0.2.2). With SANDQ_SANDBOX_DNS the worker routes sandbox DNS to
the operator's resolvers only: resolv.conf names them, the egress chain lets
port 53 (and nothing else) through to them, and slirp4netns runs with
--disable-dns, so 10.0.2.3 answers nothing.

The resolver here is a tiny DNS server in a network namespace the test makes,
on a private address (10.213.x.2): private addresses are otherwise blocked,
so it also shows that only port 53 of it is opened."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import pytest

from harness import Worker, private_prefix
from sandq_client import Sandq, new_id

TERMINAL = {"sandbox.task.completed", "sandbox.task.failed"}

DNS_SERVER = r"""
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
log = open(sys.argv[2], "a", buffering=1)
while True:
    q, peer = s.recvfrom(512)
    body, labels, i = q[12:], [], 0
    while body[i]:
        labels.append(body[i + 1:i + 1 + body[i]].decode(errors="replace"))
        i += 1 + body[i]
    log.write(".".join(labels) + "\n")
    question = body[:i + 5]
    answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("192.0.2.77")
    s.sendto(q[:2] + b"\x81\x80" + struct.pack(">HHHH", 1, 1, 0, 0) + question + answer, peer)
"""

BANNER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(b"private-service"); c.close()
"""

PROBE = r"""
import json, socket, struct, sys
resolver, port = sys.argv[1], int(sys.argv[2])
out = {"resolv": open("/etc/resolv.conf").read()}
try:
    out["lookup"] = socket.gethostbyname("probe.sandq.test")
except OSError as e:
    out["lookup"] = type(e).__name__
name = b"".join(bytes([len(p)]) + p for p in b"relay.sandq.test".split(b".")) + b"\0"
query = b"\x12\x34\x01\x00" + struct.pack(">HHHH", 1, 0, 0, 0) + name + b"\x00\x01\x00\x01"
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(4)
try:
    u.sendto(query, ("10.0.2.3", 53))
    u.recv(512)
    out["slirp_relay"] = "answered"
except OSError as e:
    out["slirp_relay"] = type(e).__name__
c = socket.socket()
c.settimeout(4)
try:
    c.connect((resolver, port))
    out["other_port"] = "open:" + c.recv(64).decode(errors="replace")
except OSError as e:
    out["other_port"] = type(e).__name__
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def resolver():
    """A network namespace behind a veth pair, with a DNS server on its private
    address (port 53) and another service on a second port."""
    tag = os.getpid() % 10000
    ns, host_if, ns_if = f"sqdns{tag}", f"sqdh{tag}", f"sqdn{tag}"
    host_ip, ns_ip = f"10.213.{tag % 250}.1", f"10.213.{tag % 250}.2"
    log = pathlib.Path(tempfile.mkdtemp(prefix="sandq-dns-")) / "queries"
    log.touch()
    procs = []

    def ip(*a: str) -> None:
        subprocess.run(["ip", *a], check=True)

    ip("netns", "add", ns)
    try:
        ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        ip("link", "set", ns_if, "netns", ns)
        ip("addr", "add", f"{host_ip}/30", "dev", host_if)
        ip("link", "set", host_if, "up")
        ip("-n", ns, "addr", "add", f"{ns_ip}/30", "dev", ns_if)
        ip("-n", ns, "link", "set", ns_if, "up")
        ip("-n", ns, "link", "set", "lo", "up")
        procs.append(subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", DNS_SERVER, ns_ip, str(log)]))
        procs.append(subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", BANNER, ns_ip, "8053"]))
        time.sleep(0.5)
        assert all(p.poll() is None for p in procs)
        yield {"ip": ns_ip, "other_port": 8053, "log": log}
    finally:
        for p in procs:
            p.kill()
            p.wait()
        subprocess.run(["ip", "link", "del", host_if], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def probe_in_sandbox(client: Sandq, args: list[str]) -> dict:
    sbx = new_id("sbx")
    s = client.stream(sbx)
    client.send(client.envelope("sandbox.create", sbx, {"network": "internet"}))
    ready = s.wait_for(lambda e: e["type"] in {"sandbox.ready", "sandbox.failed", "request.rejected"}, 60)
    assert ready["type"] == "sandbox.ready", ready
    try:
        req = client.send(client.envelope("task.exec", sbx, {"command": "python3", "args": ["-c", PROBE, *args],
                                                             "timeoutMs": 60000}))
        end = s.for_request(req["requestId"], TERMINAL, timeout=90)
        assert end["type"] == "sandbox.task.completed" and end["data"]["exitCode"] == 0, end
        out = "".join(e["data"].get("data", "") for e in s.seen if e["type"] == "sandbox.task.output"
                      and e["requestId"] == req["requestId"] and e["data"]["stream"] == "stdout")
        return json.loads(out)
    finally:
        k = client.send(client.envelope("sandbox.kill", sbx))
        s.for_request(k["requestId"], {"sandbox.ended", "request.rejected"}, timeout=60)
        s.close()


def test_sandbox_dns_goes_to_the_configured_resolver_only(stack_env, resolver):
    prefix = private_prefix(stack_env["brokers"], "dns")
    client = Sandq(stack_env["brokers"], prefix)
    w = Worker("w-dns", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix,
                         "SANDQ_SANDBOX_DNS": resolver["ip"]}).start()
    try:
        res = probe_in_sandbox(client, [resolver["ip"], str(resolver["other_port"])])
    finally:
        assert w.stop() == 0
    assert f"sandbox DNS goes to {resolver['ip']} only" in w.log_text()
    # The sandbox is told to use the operator's resolver, and it answers.
    assert res["resolv"].splitlines()[0] == f"nameserver {resolver['ip']}", res
    assert "10.0.2.3" not in res["resolv"], res
    assert res["lookup"] == "192.0.2.77", res
    assert "probe.sandq.test" in resolver["log"].read_text().split()
    # slirp4netns's relay to the host's resolver is gone: refused by the
    # egress chain (10.0.2.3 is no longer let through), and never relayed.
    assert res["slirp_relay"] != "answered", res
    assert "relay.sandq.test" not in resolver["log"].read_text().split()
    # The resolver's private address is open for DNS only.
    assert res["other_port"] == "ConnectionRefusedError", res


def test_a_loopback_sandbox_dns_is_refused_at_start(stack_env):
    w = Worker("w-dns-bad", {"SANDQ_SANDBOX_DNS": "127.0.0.53"})
    with pytest.raises(RuntimeError) as e:
        w.start()
    assert "SANDQ_SANDBOX_DNS" in str(e.value) and "127.0.0.0/8" in str(e.value), e.value
