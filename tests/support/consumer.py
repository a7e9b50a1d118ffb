"""A real queue consumer (`flask jobs worker`) in a process of its own, for tests.

queue = QueueForTests.sqlite(tmp_path) or QueueForTests.redis()   # a queue nobody else uses
app = queue.app(database_url, tmp_path)                    # enqueues onto it
with queue.consumer(database_url, tmp_path) as consumer:   # takes jobs off it
    ...
    consumer.kill()                                        # SIGKILL, mid-task
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from flask import Flask

from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[2]
REDIS_BASE = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
# Short leases so a killed consumer's job is taken over within seconds.
LEASE_SECONDS = 3
HEARTBEAT_SECONDS = 0.5
TEST_TASKS = "tests.app.jobs.tasks_for_tests"


@dataclass
class QueueForTests:
    """A queue of the test's own: a SQLite file, or a unique name (key prefix) in Redis."""

    name: str
    sqlite_path: str = ""
    redis_url: str = ""

    @classmethod
    def sqlite(cls, tmp: Path) -> QueueForTests:
        return cls(name="pooled-test", sqlite_path=str(tmp / f"jobs-{uuid.uuid4().hex[:8]}.db"))

    @classmethod
    def redis(cls, db: int = 0) -> QueueForTests:
        return cls(name=f"pooled-test-{uuid.uuid4().hex[:12]}", redis_url=f"{REDIS_BASE}/{db}")

    def settings(self) -> dict[str, Any]:
        return {
            "JOBS_IMMEDIATE": False,
            "JOBS_QUEUE_NAME": self.name,
            "JOBS_SQLITE_PATH": self.sqlite_path,
            "REDIS_URL": self.redis_url,
            "JOBS_LEASE_SECONDS": LEASE_SECONDS,
            "JOBS_HEARTBEAT_SECONDS": HEARTBEAT_SECONDS,
        }

    def app(self, database_url: str, tmp: Path, **overrides: Any) -> Flask:
        """The app a test enqueues from (and reads results with), on this queue."""
        return make_app(database_url, tmp, **{**self.settings(), **overrides})

    def environment(self, database_url: str, tmp: Path) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("STRIPE_", "JOBS_", "REDIS_", "MAIL_"))
        }
        env.update({key: str(value) for key, value in self.settings().items()})
        env.update(
            {
                "JOBS_IMMEDIATE": "0",
                "DATABASE_URL": database_url,
                "SECRET_KEY": "test-secret-key",
                "POOLED_INSTANCE_PATH": str(tmp / "consumer-instance"),
                "JOBS_EXTRA_MODULES": TEST_TASKS,
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    @contextmanager
    def consumer(
        self, database_url: str, tmp: Path, *, workers: int = 2, periodic: bool = True
    ) -> Iterator[Consumer]:
        consumer = Consumer(self.environment(database_url, tmp), tmp, workers, periodic)
        consumer.start()
        try:
            yield consumer
        finally:
            consumer.stop()

    def flush(self) -> None:
        """Remove the queue's keys from Redis (SQLite files go with the test's tmp dir)."""
        if self.redis_url:
            client = redis.Redis.from_url(self.redis_url)
            keys = list(client.scan_iter(match=f"*{self.name}*"))
            if keys:
                client.delete(*keys)
            client.close()


class Consumer:
    """`flask jobs worker` in a process of its own; its output goes to a log file."""

    def __init__(self, env: dict[str, str], tmp: Path, workers: int, periodic: bool) -> None:
        self.env = env
        self.workers = workers
        self.periodic = periodic
        self.log_path = tmp / f"consumer-{uuid.uuid4().hex[:6]}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "wsgi",
            "jobs",
            "worker",
            "--workers",
            str(self.workers),
            "--periodic" if self.periodic else "--no-periodic",
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own command line
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_for(lambda: "Jobs consumer:" in self.log(), 60, "the consumer to start", self)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no chance to finish or clean up, as when a host dies."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # huey's graceful stop
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def wait_for(
    condition: Callable[[], Any], seconds: float, what: str, consumer: Consumer | None = None
) -> Any:
    """Poll until `condition()` is truthy; fail with the consumer's log if it never is."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if consumer is not None and consumer.process is not None:
            if consumer.process.poll() is not None and "Jobs consumer:" not in consumer.log():
                raise AssertionError(f"the consumer exited:\n{consumer.log()[-3000:]}")
        if time.monotonic() > deadline:
            log = consumer.log()[-3000:] if consumer is not None else ""
            raise AssertionError(f"timed out waiting for {what}\n{log}")
        time.sleep(0.05)
