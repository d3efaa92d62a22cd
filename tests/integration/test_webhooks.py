"""test_webhooks.py — webhook delivery against real HTTP receivers on 127.0.0.1.

Each test runs its own sandq-worker with webhook delivery on (the session
worker of conftest.py has SANDQ_WEBHOOKS=0), on a topic prefix and consumer
group of this module, so its requests and deliveries are its own. Receivers
are Python http.server threads; signatures are verified with the official
`standardwebhooks` package from PyPI, not with our code. Endpoints are
managed with the real `sandq webhooks` CLI.
"""
from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import subprocess
import time

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from standardwebhooks.webhooks import Webhook

from harness import BUILD, Worker
from sandq_client import Sandq, new_id
from slow_dns import SlowDns
from webhook_receiver import Receiver

PREFIX = "whtest"
SECRET_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
FAST = "0,300ms,300ms"  # 3 attempts: at once, then twice 300 ms (±10 %) later


def whsec() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@pytest.fixture(scope="module")
def wh_client(stack_env) -> Sandq:
    admin = AdminClient({"bootstrap.servers": stack_env["brokers"]})
    futs = admin.create_topics([NewTopic(f"{PREFIX}.{t}", num_partitions=3, replication_factor=1)
                                for t in ("requests", "requests.iad", "events")])
    for f in futs.values():
        try:
            f.result(30)
        except Exception as e:  # noqa: BLE001 — already there from an earlier run
            if "TOPIC_ALREADY_EXISTS" not in str(e):
                raise
    return Sandq(stack_env["brokers"], PREFIX)


@pytest.fixture
def start_worker(stack_env):
    """Start this test's webhook worker(s); all are stopped (and must exit 0) at the end."""
    started: list[Worker] = []

    def start(worker_id: str = "w-wh-1", **env: str) -> Worker:
        base = {"SANDQ_TOPIC_PREFIX": PREFIX, "SANDQ_GROUP_ID": f"{PREFIX}-workers", "SANDQ_WEBHOOKS": "1",
                "SANDQ_WEBHOOK_ALLOW_PRIVATE": "1", "SANDQ_WEBHOOK_SCHEDULE": FAST, "SANDQ_WEBHOOK_POLL_MS": "100",
                "SANDQ_WEBHOOK_TIMEOUT_MS": "3000", "SANDQ_WEBHOOK_SECRET_KEY": SECRET_KEY}
        base.update(env)
        w = Worker(worker_id, base).start()
        started.append(w)
        return w

    yield start
    for w in started:
        if w.alive():
            code = w.stop()
            assert code == 0, f"worker exited {code}: {w.log_text()[-3000:]}"
        shutil.rmtree(w.dir, ignore_errors=True)


class Cli:
    def __init__(self):
        self.env = dict(os.environ, SANDQ_WEBHOOK_SECRET_KEY=SECRET_KEY)
        self.added: list[str] = []

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run([str(BUILD / "producer" / "sandq"), "webhooks", *args, "--json"], env=self.env,
                           capture_output=True, text=True, timeout=90)
        if check:
            assert p.returncode == 0, (args, p.returncode, p.stdout, p.stderr)
        return p

    def json(self, *args: str, check: bool = True):
        out = self.run(*args, check=check).stdout.strip().splitlines()
        return json.loads(out[-1]) if out else None

    def add(self, url: str, *args: str) -> dict:
        ep = self.json("add", url, *args)
        self.added.append(ep["id"])
        return ep


@pytest.fixture
def cli():
    c = Cli()
    yield c
    for ep in c.added:  # no endpoint of this test keeps retrying into the next one
        c.run("rm", ep, check=False)


def delivery(pg, event_id: str) -> dict:
    row = pg.execute("SELECT id, state, attempts, last_status, last_error, endpoint_id FROM webhook_deliveries "
                     "WHERE event_id = %s", (event_id,)).fetchone()
    assert row is not None, f"no delivery row for {event_id}"
    return dict(zip(("id", "state", "attempts", "last_status", "last_error", "endpoint_id"), row))


def wait_delivery(pg, event_id: str, pred, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        d = delivery(pg, event_id)
        if pred(d):
            return d
        if time.monotonic() > deadline:
            raise TimeoutError(f"delivery of {event_id}: {d}")
        time.sleep(0.1)


def launch(client: Sandq, body: dict, tenant: str | None = None):
    sbx = new_id("sbx")
    s = client.stream(sbx)
    extra = {"tenant": tenant} if tenant else {}
    client.send(client.envelope("sandbox.create", sbx, body, **extra))
    s.wait_type("sandbox.ready", timeout=60)
    return sbx, s


def end(client: Sandq, sbx: str, s, tenant: str | None = None) -> None:
    extra = {"tenant": tenant} if tenant else {}
    kill = client.send(client.envelope("sandbox.kill", sbx, **extra))
    s.wait_type("sandbox.ended", requestId=kill["requestId"], timeout=60)
    s.close()


# ---- signatures: someone else's verifier -------------------------------------------

def test_sandbox_webhook_passes_the_standardwebhooks_verifier(wh_client, start_worker, pg):
    w = start_worker()
    rcv = Receiver().start()
    secret = whsec()
    sbx, s = launch(wh_client, {"webhook": {"url": rcv.url, "secret": secret}})
    end(wh_client, sbx, s)
    want = [e["eventId"] for e in s.seen]  # created, assigned, ready, ending, ended
    got = rcv.wait(lambda g: {x["headers"]["webhook-id"] for x in g} >= set(want))
    verifier = Webhook(secret)
    for g in got:
        h = g["headers"]
        payload = verifier.verify(g["body"], h)  # raises unless a v1 signature of exactly these bytes
        assert payload["eventId"] == h["webhook-id"]
        assert payload["sandboxId"] == sbx
        assert h["content-type"] == "application/json"
        assert abs(int(h["webhook-timestamp"]) - time.time()) < 60
        assert h["webhook-signature"].startswith("v1,")
    by_id = {json.loads(g["body"])["eventId"]: json.loads(g["body"]) for g in got}
    for e in s.seen:  # the envelope delivered is the event published
        assert by_id[e["eventId"]]["type"] == e["type"] and by_id[e["eventId"]]["seq"] == e["seq"]
    # A receiver with another secret rejects them.
    with pytest.raises(Exception):
        Webhook(whsec()).verify(got[0]["body"], got[0]["headers"])
    rcv.stop()
    # The secret is sealed at rest and appears in no event, log or other table.
    (sealed,) = pg.execute("SELECT secret_sealed FROM webhook_endpoints WHERE sandbox_id = %s", (sbx,)).fetchone()
    assert sealed.startswith("v1:")
    key = secret.removeprefix("whsec_")
    for table in ("webhook_endpoints", "webhook_deliveries", "events", "sandboxes"):
        (n,) = pg.execute(f"SELECT count(*) FROM {table} t WHERE t::text LIKE %s", (f"%{key}%",)).fetchone()
        assert n == 0, f"secret found in {table}"
    assert key not in json.dumps(s.seen)
    assert key not in w.log_text()


def test_event_types_filter_exact_and_prefix(wh_client, start_worker, cli):
    start_worker()
    rcv_exact, rcv_prefix = Receiver().start(), Receiver().start()
    tenant = "wh" + secrets.token_hex(4)
    cli.add(rcv_prefix.url, "--tenant", tenant, "--event-type", "sandbox.task.*")
    sbx, s = launch(wh_client, {"webhook": {"url": rcv_exact.url, "secret": whsec(),
                                            "eventTypes": ["sandbox.ready"]}}, tenant)
    ex = wh_client.send(wh_client.envelope("task.exec", sbx, {"command": "true"}, tenant=tenant))
    s.for_request(ex["requestId"], {"sandbox.task.completed"})
    end(wh_client, sbx, s, tenant)
    ready = [e["eventId"] for e in s.seen if e["type"] == "sandbox.ready"]
    tasks = [e["eventId"] for e in s.seen if e["type"].startswith("sandbox.task.")]
    assert tasks
    rcv_exact.wait(lambda g: len(g) >= 1)
    rcv_prefix.wait(lambda g: len(g) >= len(tasks))
    time.sleep(1)  # anything else would have arrived by now
    assert rcv_exact.ids() == ready
    assert sorted(rcv_prefix.ids()) == sorted(tasks)
    rcv_exact.stop()
    rcv_prefix.stop()


# ---- receiver failures ---------------------------------------------------------------

def test_500_500_200_is_retried_with_the_same_webhook_id(wh_client, start_worker, cli, pg):
    start_worker()
    rcv = Receiver(script=[500, 500, 200]).start()
    tenant = "wh" + secrets.token_hex(4)
    ep = cli.add(rcv.url, "--tenant", tenant, "--event-type", "sandbox.ready")
    sbx, s = launch(wh_client, {}, tenant)
    ready = s.wait_type("sandbox.ready")
    got = rcv.wait(lambda g: len(g) >= 3)
    assert [g["status"] for g in got] == [500, 500, 200]
    assert {g["headers"]["webhook-id"] for g in got} == {ready["eventId"]}
    assert len({g["body"] for g in got}) == 1  # the same bytes every time (timestamps and signatures differ)
    for a, b in zip(got, got[1:]):  # the shortened schedule: 300 ms ± 10 % between attempts
        assert b["t"] - a["t"] >= 0.25, [g["t"] for g in got]
    for g in got:
        Webhook(ep["secret"]).verify(g["body"], g["headers"])
    d = wait_delivery(pg, ready["eventId"], lambda d: d["state"] == "delivered")
    assert d["attempts"] == 3 and d["last_status"] == 200
    log = pg.execute("SELECT attempt, status FROM webhook_attempts WHERE delivery_id = %s ORDER BY attempt",
                     (d["id"],)).fetchall()
    assert log == [(1, 500), (2, 500), (3, 200)]
    listed = cli.json("deliveries", "--endpoint", ep["id"])
    assert [(x["event_id"], x["state"], x["attempts"], x["status"]) for x in listed] == \
        [(ready["eventId"], "delivered", "3", "200")]
    end(wh_client, sbx, s, tenant)
    rcv.stop()


def test_retry_after_is_honoured(start_worker, cli, pg):
    start_worker()
    rcv = Receiver(script=[(503, {"Retry-After": "2"})]).start()
    ep = cli.add(rcv.url, "--tenant", "wh" + secrets.token_hex(4))
    p = cli.run("test", ep["id"], check=False)  # returns after the first attempt: 503
    assert p.returncode == 1, p
    got = rcv.wait(lambda g: len(g) >= 2, timeout=20)
    assert got[1]["t"] - got[0]["t"] >= 1.9  # not the 300 ms of the schedule
    assert got[0]["headers"]["webhook-id"] == got[1]["headers"]["webhook-id"]
    rcv.stop()


def test_410_disables_the_endpoint(start_worker, cli, pg):
    start_worker()
    rcv = Receiver(script=[410]).start()
    ep = cli.add(rcv.url, "--tenant", "wh" + secrets.token_hex(4))
    first = cli.run("test", ep["id"], check=False)
    assert first.returncode == 1
    row = json.loads(first.stdout.strip().splitlines()[-1])[0]
    assert row["state"] == "failed" and row["status"] == "410" and row["attempts"] == "1"
    (enabled, reason) = pg.execute("SELECT enabled, disabled_reason FROM webhook_endpoints WHERE id = %s",
                                   (ep["id"],)).fetchone()
    assert enabled is False and "410" in reason
    [listed] = [x for x in cli.json("list") if x["id"] == ep["id"]]
    assert listed["status"].startswith("disabled")
    # While disabled nothing is sent; enabling it again delivers what waited.
    second = cli.run("test", ep["id"], "--timeout", "2s", check=False)
    assert second.returncode == 124, second
    time.sleep(0.5)
    assert len(rcv.got) == 1
    cli.json("enable", ep["id"])
    got = rcv.wait(lambda g: len(g) >= 2)
    assert got[1]["status"] == 200
    rcv.stop()


def test_failed_after_the_last_attempt_then_redelivered(start_worker, cli, pg):
    start_worker()
    rcv = Receiver(default=500).start()
    ep = cli.add(rcv.url, "--tenant", "wh" + secrets.token_hex(4))
    cli.run("test", ep["id"], check=False)
    rcv.wait(lambda g: len(g) >= 3)
    [d] = cli.json("deliveries", "--endpoint", ep["id"])
    deadline = time.monotonic() + 10
    while d["state"] != "failed" and time.monotonic() < deadline:
        time.sleep(0.1)
        [d] = cli.json("deliveries", "--endpoint", ep["id"])
    assert (d["state"], d["attempts"], d["status"], d["error"]) == ("failed", "3", "500", "HTTP 500")
    time.sleep(1)
    assert len(rcv.got) == 3  # no fourth attempt on a 3-attempt schedule
    assert d["id"] in [x["id"] for x in cli.json("deliveries", "--failed", "--limit", "1000")]
    rcv.default = 200
    cli.json("redeliver", d["id"])
    got = rcv.wait(lambda g: len(g) >= 4)
    assert got[3]["headers"]["webhook-id"] == d["event_id"]
    wait_delivery(pg, d["event_id"], lambda x: x["state"] == "delivered")
    rcv.stop()


def test_secret_rotation_signs_with_both(start_worker, cli):
    start_worker()
    rcv = Receiver().start()
    old = whsec()
    ep = cli.add(rcv.url, "--tenant", "wh" + secrets.token_hex(4), "--secret", old)
    new = cli.json("rotate", ep["id"])["secret"]
    assert new != old and new.startswith("whsec_")
    cli.run("test", ep["id"])
    g = rcv.got[-1]
    assert len(g["headers"]["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(g["body"], g["headers"])  # receivers not yet updated
    Webhook(new).verify(g["body"], g["headers"])  # receivers already updated
    cli.json("rotate", ep["id"], "--done")
    cli.run("test", ep["id"])
    g = rcv.got[-1]
    Webhook(new).verify(g["body"], g["headers"])
    with pytest.raises(Exception):
        Webhook(old).verify(g["body"], g["headers"])
    rcv.stop()


# ---- durability ------------------------------------------------------------------------

def test_kill_9_loses_no_delivery(wh_client, start_worker, pg):
    slow = "0,500ms,1s,1s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s"  # 16 attempts over ~27 s
    w = start_worker("w-wh-crash", SANDQ_WEBHOOK_SCHEDULE=slow)
    rcv = Receiver()  # its port is free: connection refused until it starts
    secret = whsec()
    sbxs = []
    for _ in range(3):
        sbx, s = launch(wh_client, {"webhook": {"url": rcv.url, "secret": secret}})
        end(wh_client, sbx, s)
        sbxs.append(sbx)
    want = {r[0] for r in pg.execute("SELECT event_id FROM events WHERE sandbox_id = ANY(%s)", (sbxs,))}
    assert len(want) >= 15  # five lifecycle events each
    rows = pg.execute("SELECT state, attempts FROM webhook_deliveries WHERE event_id = ANY(%s)",
                      (list(want),)).fetchall()
    assert len(rows) == len(want) and all(st == "pending" for st, _ in rows)
    assert any(a >= 1 for _, a in rows)  # attempts were made and failed
    w.proc.send_signal(signal.SIGKILL)
    w.proc.wait()
    w.log.close()
    w2 = start_worker("w-wh-crash", SANDQ_WEBHOOK_SCHEDULE=slow)
    rcv.start()
    got = rcv.wait(lambda g: {x["headers"]["webhook-id"] for x in g} >= want, timeout=60)
    for g in got:
        Webhook(secret).verify(g["body"], g["headers"])
    deadline = time.monotonic() + 10
    while True:
        states = {r[0] for r in pg.execute("SELECT state FROM webhook_deliveries WHERE event_id = ANY(%s)",
                                           (list(want),))}
        if states == {"delivered"} or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert states == {"delivered"}
    assert w2.alive()
    rcv.stop()


def test_two_workers_share_the_outbox_without_delivering_twice(start_worker, cli, pg):
    """Both workers' delivery threads claim from the same outbox (FOR UPDATE SKIP
    LOCKED plus a lease): every event arrives exactly once, and both took part."""
    a = start_worker("w-wh-a")
    b = start_worker("w-wh-b")
    rcv = Receiver(delay=0.02).start()
    tenant = "wh" + secrets.token_hex(4)
    ep = cli.add(rcv.url, "--tenant", tenant)
    ids = [new_id("evt") for _ in range(400)]
    with pg.cursor() as cur:
        with cur.copy("COPY events (event_id, seq, type, tenant, worker_id, at, envelope) FROM STDIN") as cp:
            for eid in ids:
                env = {"v": 1, "eventId": eid, "type": "sandbox.task.progress", "seq": 0, "tenant": tenant, "data": {}}
                cp.write_row((eid, 0, "sandbox.task.progress", tenant, "it", "2026-01-01 00:00:00+00",
                              json.dumps(env)))
    rcv.wait(lambda g: len(g) >= len(ids), timeout=120)
    time.sleep(1)
    got = rcv.ids()
    assert sorted(got) == sorted(ids)  # each exactly once
    owners = {r[0].split(":")[0] for r in pg.execute(
        "SELECT DISTINCT a.worker_id FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id "
        "WHERE d.endpoint_id = %s", (ep["id"],))}
    assert owners == {a.worker_id, b.worker_id}, owners
    rcv.stop()


# ---- SSRF ------------------------------------------------------------------------------

def test_ssrf_guard_refuses_every_forbidden_class(start_worker, cli, pg):
    w = start_worker(SANDQ_WEBHOOK_ALLOW_PRIVATE="0")
    rcv = Receiver().start()  # listening on 127.0.0.1: anything that got through would show up here
    port = rcv.port
    cases = {
        f"http://127.0.0.1:{port}/hook": "loopback",
        f"http://localhost:{port}/hook": "loopback",            # a DNS name resolving to 127.0.0.1 (or ::1)
        f"http://[::1]:{port}/hook": "loopback",
        f"http://[::ffff:127.0.0.1]:{port}/hook": "loopback",   # IPv4-mapped IPv6
        f"http://0.0.0.0:{port}/hook": "unspecified",
        f"http://[::]:{port}/hook": "unspecified",
        "http://10.0.0.1/hook": "private",
        "http://172.16.0.1/hook": "private",
        "http://192.168.1.1/hook": "private",
        "http://[fd00::1]/hook": "private",
        "http://169.254.1.1/hook": "link_local",
        "http://[fe80::1]/hook": "link_local",
        "http://169.254.169.254/latest/meta-data/": "metadata",
        "http://[::ffff:169.254.169.254]/latest/meta-data/": "metadata",
        "http://168.63.129.16/machine/?comp=goalstate": "metadata",  # Azure WireServer: a public address
        "http://[::ffff:168.63.129.16]:32526/vmSettings": "metadata",
    }
    for url, cls in cases.items():
        ep = cli.add(url, "--tenant", "wh" + secrets.token_hex(4))
        p = cli.run("test", ep["id"], check=False)
        assert p.returncode == 1, (url, p.stdout, p.stderr)
        row = json.loads(p.stdout.strip().splitlines()[-1])[0]
        assert row["state"] == "failed" and row["status"] is None, (url, row)
        assert row["error"].startswith("refused: ") and f"a {cls} address" in row["error"], (url, row)
    assert rcv.got == []
    assert "refused: localhost resolves to" in w.log_text()
    rcv.stop()


def test_a_dns_name_is_resolved_checked_and_pinned_when_private_is_allowed(start_worker, cli):
    w = start_worker()  # SANDQ_WEBHOOK_ALLOW_PRIVATE=1
    rcv = Receiver().start()
    ep = cli.add(f"http://localhost:{rcv.port}/hook", "--tenant", "wh" + secrets.token_hex(4))
    p = cli.run("test", ep["id"], check=False)
    assert p.returncode == 0, (p.stdout, p.stderr, w.log_text()[-2000:])
    assert rcv.got[0]["headers"]["host"] == f"localhost:{rcv.port}"  # the name is kept, only the address pinned
    rcv.stop()


def test_a_slow_dns_name_does_not_hold_up_other_deliveries(start_worker, cli):
    """One endpoint's host name resolves slowly (its DNS answer is held back);
    a delivery to another endpoint goes out meanwhile, and the slow one follows
    once its name resolves. The worker asks the test's DNS server
    (SANDQ_WEBHOOK_DNS_SERVER); pinning still applies to what it answered."""
    dns = SlowDns(hold=("slow",)).start()
    # glibc gives up on a name after timeout × attempts: long enough here that
    # the held name is still being resolved when the other delivery goes out.
    w = start_worker(SANDQ_WEBHOOK_DNS_SERVER=f"127.0.0.1:{dns.port}", RES_OPTIONS="timeout:30 attempts:2")
    slow_rcv, fast_rcv = Receiver().start(), Receiver().start()
    tenant = "wh" + secrets.token_hex(4)
    slow_ep = cli.add(f"http://slow.sandq-test:{slow_rcv.port}/hook", "--tenant", tenant)
    fast_ep = cli.add(f"http://fast.sandq-test:{fast_rcv.port}/hook", "--tenant", tenant)
    slow_test = subprocess.Popen([str(BUILD / "producer" / "sandq"), "webhooks", "test", slow_ep["id"], "--json",
                                  "--timeout", "90s"], env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
    try:
        dns.wait_query("slow.sandq-test")  # the worker now waits for that name...
        p = cli.run("test", fast_ep["id"], check=False)  # ...and delivers to the other endpoint meanwhile
        assert p.returncode == 0, (p.stdout, p.stderr, w.log_text()[-2000:])
        assert len(fast_rcv.got) == 1 and fast_rcv.got[0]["headers"]["host"] == f"fast.sandq-test:{fast_rcv.port}"
        # Meanwhile, not after the slow lookup gave up (a single resolving
        # thread would have delivered it only then):
        assert not dns.was_answered("slow.sandq-test") and slow_rcv.got == []
        assert "cannot resolve slow.sandq-test" not in w.log_text()
        dns.release()
        got = slow_rcv.wait(lambda g: len(g) >= 1, timeout=90)
        assert got[0]["headers"]["host"] == f"slow.sandq-test:{slow_rcv.port}"
    finally:
        if slow_test.poll() is None:
            slow_test.kill()
            slow_test.wait()
        dns.release()
        dns.stop()
        slow_rcv.stop()
        fast_rcv.stop()


def test_webhook_dns_server_setting_is_checked_at_start():
    w = Worker("w-wh-dns", {"SANDQ_TOPIC_PREFIX": PREFIX, "SANDQ_GROUP_ID": f"{PREFIX}-workers", "SANDQ_WEBHOOKS": "1",
                            "SANDQ_WEBHOOK_SECRET_KEY": SECRET_KEY, "SANDQ_WEBHOOK_DNS_SERVER": "dns.example:53"})
    with pytest.raises(RuntimeError, match="SANDQ_WEBHOOK_DNS_SERVER"):
        w.start()
    shutil.rmtree(w.dir, ignore_errors=True)


# ---- load: a slow receiver does not hold the others back ---------------------------------

def test_slow_endpoint_does_not_hold_back_the_others(start_worker, cli, pg):
    """300 events to three endpoints, one answering in 1 s: the two fast ones get
    every event while the slow one (8 in flight at most) has had only a few.
    The full-size measurement (10,000 events) is tests/bench/webhook_load.py."""
    start_worker(SANDQ_LOG_LEVEL="info")
    n = 300
    fast = [Receiver().start(), Receiver().start()]
    slow = Receiver(delay=1.0).start()
    tenant = "wh" + secrets.token_hex(4)
    eps = [cli.add(r.url, "--tenant", tenant)["id"] for r in fast + [slow]]
    ids = [new_id("evt") for _ in range(n)]
    with pg.cursor() as cur:
        with cur.copy("COPY events (event_id, seq, type, tenant, worker_id, at, envelope) FROM STDIN") as cp:
            for i, eid in enumerate(ids):
                env = {"v": 1, "eventId": eid, "type": "sandbox.task.progress", "seq": 0, "tenant": tenant,
                       "data": {"i": i}}
                cp.write_row((eid, 0, "sandbox.task.progress", tenant, "it", "2026-01-01 00:00:00+00",
                              json.dumps(env)))
    for r in fast:
        r.wait(lambda g: len({x["headers"]["webhook-id"] for x in g}) >= n, timeout=120)
        assert {x["headers"]["webhook-id"] for x in r.got} == set(ids)
    slow_got = len(slow.got)
    assert slow_got < n / 2, slow_got  # capped at 8 concurrent 1 s answers: it is still far behind
    (pending,) = pg.execute("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = %s AND state = 'pending'",
                            (eps[2],)).fetchone()
    assert pending > n / 2
    for r in fast + [slow]:
        r.stop()


def test_cli_refuses_bad_arguments_before_connecting(cli):
    cli.env["SANDQ_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"  # never reached
    for args in (("add", "ftp://example.com/x"), ("add", "http://exa mple.com/"), ("redeliver", "12x"),
                 ("rm", "not-an-id"), ("test", "ep_123"), ("frobnicate",), ("list", "extra")):
        p = cli.run(*args, check=False)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert p.stderr.startswith("sandq: webhooks: "), p.stderr
    p = cli.run("list", check=False)  # a real failure: exit 1 with the reason
    assert p.returncode == 1 and "postgres" in p.stderr
