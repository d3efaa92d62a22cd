"""harness.py — what the integration and fault tests share: the running test
stack (started by scripts/test), a real sandq-worker process, clients for
Kafka, Redis and PostgreSQL, and the fixtures over them. tests/integration and
tests/faults each have a conftest.py that exposes these fixtures to pytest.
Nothing here is mocked."""
from __future__ import annotations

import os
import re
import pathlib
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import psycopg
import pytest
import redis as redis_lib
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from sandq_client import Sandq, end_offset, new_id  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("SANDQ_BUILD_DIR", ROOT / "build"))


def _require_env(name: str) -> str:
    val = os.environ.get(name)
    if not val:
        pytest.exit(f"{name} is not set: run the integration tests through `make test` "
                    f"(or source a stack's env file)", returncode=2)
    return val


RUNNING_WORKERS: list["Worker"] = []
# Every worker id started this session: none may leave a cgroup tree behind.
STARTED_WORKER_IDS: set[str] = set()


def history_settled(timeout: float = 15.0) -> None:
    """Wait until every running worker's history writer has committed what it
    queued (sandq_history_queue_depth 0 on /metrics). Events go out on Kafka
    as soon as they happen; their PostgreSQL rows follow in batches."""
    import urllib.request
    deadline = time.monotonic() + timeout
    for w in list(RUNNING_WORKERS):
        if not w.alive() or not getattr(w, "http_port", None):
            continue
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{w.http_port}/metrics", timeout=5) as r:
                    text = r.read().decode()
            except OSError:
                break
            m = re.search(r"^sandq_history_queue_depth (\d+)$", text, re.M)
            if not m or m.group(1) == "0":
                break
            time.sleep(0.05)


def metric(w: "Worker", name: str) -> int:
    """An unlabelled counter or gauge from the worker's /metrics."""
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{w.http_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    m = re.search(rf"^{name} (\d+)$", text, re.M)
    assert m, f"{name} not on /metrics"
    return int(m.group(1))


def worker_cgroup_dirs(worker_id: str) -> list[str]:
    """The worker's cgroup trees: <own cgroup>/sandq/<worker-id> in each hierarchy."""
    found = []
    for root, dirs, _ in os.walk("/sys/fs/cgroup"):
        if os.path.basename(root) == "sandq" and worker_id in dirs:
            found.append(os.path.join(root, worker_id))
        if root.count("/") > 12:
            dirs[:] = []
    return found


def remove_worker_cgroups(worker_id: str, timeout: float = 15.0) -> None:
    """rmdir a dead worker's cgroup trees, deepest first, once the processes of
    its sandboxes (killed with it through PR_SET_PDEATHSIG) are gone."""
    deadline = time.monotonic() + timeout
    while True:
        busy = []
        for top in worker_cgroup_dirs(worker_id):
            for root, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
                try:
                    os.rmdir(root)
                except FileNotFoundError:
                    pass
                except OSError:
                    busy.append(root)
        if not busy:
            # and its owner lock file, which a sweep would have removed with them
            pathlib.Path(f"/run/sandq/cgroup-owners/{worker_id}.lock").unlink(missing_ok=True)
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"cgroups of dead worker {worker_id} still busy: {busy}")
        time.sleep(0.1)


class Worker:
    """A real sandq-worker process with its own workspace and run directories."""

    def __init__(self, worker_id: str, extra_env: dict | None = None):
        # Unique per stack on this machine (its Kafka port): two suites running
        # side by side (a checkout and a CI clone) must not share a worker's
        # cgroup directories or its static group membership.
        port = os.environ.get("SANDQ_KAFKA_BROKERS", "").rsplit(":", 1)[-1]
        worker_id = f"{worker_id}-k{port}" if port.isdigit() else worker_id
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix=f"sandq-{worker_id}-"))
        self.log_path = self.dir / "worker.log"
        self.worker_id = worker_id
        self.env = dict(os.environ)
        self.env.update({
            "SANDQ_WORKER_ID": worker_id,
            "SANDQ_WORKSPACE_ROOT": str(self.dir / "workspaces"),
            "SANDQ_RUN_DIR": str(self.dir / "run"),
            "SANDQ_LOG_LEVEL": "debug",
            "SANDQ_HTTP_PORT": "0",
            # Webhook delivery is off unless a test asks for it (test_webhooks.py
            # runs its own workers), so no worker claims another test's deliveries.
            "SANDQ_WEBHOOKS": "0",
        })
        self.env.update(extra_env or {})
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> "Worker":
        self.log = open(self.log_path, "ab")
        # SANDQ_WORKER_LAUNCHER (scripts/test): e.g. systemd-run --scope with
        # Delegate=yes on a pure cgroup v2 systemd host; it execs the worker, so
        # self.proc is still the worker's pid.
        launcher = shlex.split(os.environ.get("SANDQ_WORKER_LAUNCHER", ""))
        self.proc = subprocess.Popen(launcher + [str(BUILD / "worker" / "sandq-worker"), "run"], env=self.env,
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited {self.proc.returncode}: {self.log_text()[-2000:]}")
            log = self.log_path.read_bytes()
            if b'"msg":"worker ' in log and b" ready" in log:
                m = re.search(rb"http listening on [0-9.]+:(\d+)", log)
                self.http_port = int(m.group(1)) if m else None
                RUNNING_WORKERS.append(self)
                STARTED_WORKER_IDS.add(self.worker_id)
                return self
            time.sleep(0.1)
        # Not ready in time: do not leave it running (a stray worker with this
        # id would fence the next one as a static group member).
        self.proc.kill()
        self.proc.wait()
        self.log.close()
        raise TimeoutError("worker did not become ready: " + self.log_text()[-2000:])

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0, clean_cgroups: bool = True) -> int:
        if self in RUNNING_WORKERS:
            RUNNING_WORKERS.remove(self)
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if sig == signal.SIGKILL:
            # A killed worker leaves its sandboxes' workspace file systems
            # mounted; the next worker started on its directories would sweep
            # them (worker/src/workspace_sweep.c). None will be here, so do
            # what that sweep does, or every such test leaks loop devices and
            # their reserved disk.
            for m in self.mounts():
                subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL)
            # Its cgroup trees (sandq/<worker-id>/...) stay too; the next
            # worker's start would sweep them (worker/sandbox/cgroup_owners.c),
            # but a test suite must not rely on one coming.
            if clean_cgroups:
                remove_worker_cgroups(self.worker_id)
        return self.proc.returncode

    def mounts(self) -> list[str]:
        """Mount points under this worker's directory (workspaces with their own file system)."""
        prefix = str(self.dir) + "/"
        return [l.split()[4] for l in pathlib.Path("/proc/self/mountinfo").read_text().splitlines()
                if l.split()[4].startswith(prefix)]


@pytest.fixture(scope="session", autouse=True)
def no_worker_outlives_the_session():
    """A test that fails between starting a worker and stopping it must not
    leave the process behind (it would keep reaping on the next stack)."""
    yield
    for w in list(RUNNING_WORKERS):
        w.stop(signal.SIGKILL)
    # Every worker of the session has stopped, cleanly or by SIGKILL (then the
    # harness removed its trees): none may leave a cgroup directory behind.
    left = {wid: worker_cgroup_dirs(wid) for wid in sorted(STARTED_WORKER_IDS)}
    left = {wid: dirs for wid, dirs in left.items() if dirs}
    assert not left, f"cgroup directories left behind by the session's workers: {left}"


@pytest.fixture(scope="session")
def stack_env() -> dict:
    return {
        "brokers": _require_env("SANDQ_KAFKA_BROKERS"),
        "redis_url": _require_env("SANDQ_REDIS_URL"),
        "database_url": _require_env("SANDQ_DATABASE_URL"),
        "prefix": os.environ.get("SANDQ_TOPIC_PREFIX", "sandq"),
    }


@pytest.fixture(scope="session")
def worker(stack_env):
    w = Worker("w-test-1").start()
    yield w
    code = w.stop()
    assert code == 0, f"worker exited {code} on SIGTERM: {w.log_text()[-3000:]}"
    # A worker that shuts down cleanly unmounts every workspace it mounted.
    assert w.mounts() == [], w.mounts()
    if not os.environ.get("SANDQ_KEEP_LOGS"):
        shutil.rmtree(w.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def client(stack_env) -> Sandq:
    return Sandq(stack_env["brokers"], stack_env["prefix"])


@pytest.fixture(scope="session")
def rds(stack_env):
    return redis_lib.Redis.from_url(stack_env["redis_url"], decode_responses=True)


class ReconnectingPG:
    """A psycopg connection that reconnects once when the server went away
    (the fault tests restart PostgreSQL under the other tests' feet)."""

    def __init__(self, url: str):
        self.url = url
        self.conn = psycopg.connect(url, autocommit=True)

    def execute(self, sql, params=()):
        history_settled()  # reads see every row the workers have queued so far
        try:
            return self.conn.execute(sql, params)
        except psycopg.OperationalError:
            self.conn = psycopg.connect(self.url, autocommit=True)
            return self.conn.execute(sql, params)

    def cursor(self, *args, **kwargs):
        history_settled()
        if self.conn.closed or self.conn.broken:
            self.conn = psycopg.connect(self.url, autocommit=True)
        return self.conn.cursor(*args, **kwargs)

    def close(self):
        self.conn.close()


@pytest.fixture(scope="session")
def pg(stack_env):
    conn = ReconnectingPG(stack_env["database_url"])
    yield conn
    conn.close()


@pytest.fixture
def launched(client, worker):
    """A ready sandbox: (sandbox_id, its EventStream). Killed afterwards if still alive."""
    sbx = new_id("sbx")
    stream = client.stream(sbx)
    client.send(client.envelope("sandbox.create", sbx, {}))
    stream.wait_type("sandbox.ready", timeout=60)
    yield sbx, stream
    kill = client.send(client.envelope("sandbox.kill", sbx))
    stream.for_request(kill["requestId"], {"sandbox.ended", "request.rejected"}, timeout=60)
    stream.close()


def pg_eventually(pg, sql: str, params: tuple, expected, timeout: float = 15.0, many: bool = False):
    """The history writer commits in batches, a moment after the events are out:
    poll a query until it returns `expected` (fetchone, or fetchall with many=True)."""
    deadline = time.monotonic() + timeout
    while True:
        cur = pg.execute(sql, params)
        got = cur.fetchall() if many else cur.fetchone()
        if got == expected or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def worker_groups(group: str, prefix: str, region: str = "iad") -> dict[str, str]:
    """{requests topic: the consumer group its workers share}. Each requests
    topic has a group of its own, <SANDQ_GROUP_ID>.<topic>, so that each topic
    is spread over the workers (worker/src/pipeline/consumer.h)."""
    topics = (f"{prefix}.requests", f"{prefix}.requests.{region}")
    return {t: f"{group}.{t}" for t in topics}


def private_prefix(brokers: str, name: str, partitions: int = 3, configs: dict[str, dict] | None = None) -> str:
    """Fresh topics under a prefix of their own, for a test that runs its own
    workers and must own every message on its topics. configs: topic configs
    by suffix, e.g. {"events": {"max.message.bytes": "8192"}}."""
    prefix = f"it{name}{new_id('req')[-6:].lower()}"
    admin = AdminClient({"bootstrap.servers": brokers})
    futs = admin.create_topics([NewTopic(f"{prefix}.{t}", num_partitions=partitions, replication_factor=1,
                                         config=(configs or {}).get(t, {}))
                                for t in ("requests", "requests.iad", "events", "dlq")])
    for f in futs.values():
        f.result(30)
    # Created is not yet served: wait until every partition has a leader that
    # answers, or the first reader may get NOT_LEADER_FOR_PARTITION.
    c = Consumer({"bootstrap.servers": brokers, "group.id": "sandq-tests-unused"})
    try:
        for t in futs:
            for p in range(partitions):
                end_offset(c, t, p)
    finally:
        c.close()
    return prefix
