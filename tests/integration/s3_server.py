"""s3_server.py — a real S3-compatible server for the artifact tests: versitygw
(built by `scripts/setup --test`, which scripts/test runs, into
~/.cache/sandq/versitygw-<version>) serving a
temporary directory on a free loopback port. It checks SigV4 signatures and
payload hashes, so a wrong secret, a tampered presigned URL or an expired one
is refused by the server itself — nothing here is mocked.

    with S3Server() as s3:
        s3.create_bucket("arts")
        s3.env()   # the SANDQ_S3_* settings a worker needs"""
from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time

VERSION = "1.8.0"
CACHE = pathlib.Path(os.environ.get("SANDQ_CACHE_DIR", pathlib.Path.home() / ".cache" / "sandq"))
BINARY = pathlib.Path(os.environ.get("SANDQ_VERSITYGW", CACHE / f"versitygw-{VERSION}" / "versitygw"))
ACCESS = "sandqtest"
SECRET = "sandq-test-secret-0123456789"
REGION = "us-east-1"
EMPTY_SHA = hashlib.sha256(b"").hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    def __init__(self):
        if not BINARY.is_file():
            raise RuntimeError(f"{BINARY} is missing: `scripts/setup --test` builds it (the artifact tests need it)")
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="sandq-s3-"))
        (self.dir / "data").mkdir()
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "S3Server":
        self.log = open(self.dir / "versitygw.log", "wb")
        self.proc = subprocess.Popen(
            [str(BINARY), "--access", ACCESS, "--secret", SECRET, "--region", REGION,
             "--port", f"127.0.0.1:{self.port}", "--quiet", "posix", str(self.dir / "data")],
            stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("versitygw exited: " + (self.dir / "versitygw.log").read_text()[-2000:])
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("versitygw did not listen")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def curl(self, *args: str, secret: str = SECRET, sha: str = EMPTY_SHA) -> subprocess.CompletedProcess:
        """curl with SigV4 (the same libcurl signing the worker uses)."""
        return subprocess.run(["curl", "-sS", "--aws-sigv4", f"aws:amz:{REGION}:s3", "-u", f"{ACCESS}:{secret}",
                               "-H", f"x-amz-content-sha256: {sha}", "-w", "\n%{http_code}", *args],
                              capture_output=True, timeout=120)

    def create_bucket(self, name: str) -> None:
        r = self.curl("-X", "PUT", f"{self.endpoint}/{name}")
        assert r.stdout.endswith(b"200"), r.stdout + r.stderr

    def object_path(self, bucket: str, key: str) -> pathlib.Path:
        """Where versitygw's posix back end keeps an object: bucket/key under its directory."""
        return self.dir / "data" / bucket / key

    def env(self, bucket: str, prefix: str = "") -> dict:
        return {"SANDQ_ARTIFACT_STORE": f"s3://{bucket}{'/' + prefix if prefix else ''}",
                "SANDQ_S3_ENDPOINT": self.endpoint, "SANDQ_S3_REGION": REGION,
                "SANDQ_S3_ACCESS_KEY_ID": ACCESS, "SANDQ_S3_SECRET_ACCESS_KEY": SECRET}
