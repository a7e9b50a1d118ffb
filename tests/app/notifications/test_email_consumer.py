"""Email through a real queue consumer (`flask jobs worker`) to a real SMTP server (aiosmtpd):
a consumer killed with SIGKILL in the middle of an SMTP conversation is replaced and the email
arrives once; two consumers on Redis, each message delivered twice to the queue, send each
email once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from app import accounts
from app.extensions import db
from app.jobs import JobRun, JobStatus, send
from app.models import Role
from app.notifications.models import OutboxMessage, OutboxStatus
from app.notifications.services import notify
from app.notifications.tasks import send_email
from tests import factories
from tests.conftest import make_app
from tests.databases import fresh_database, migrate
from tests.support.browser import free_port
from tests.support.consumer import LEASE_SECONDS, Consumer, QueueForTests, wait_for
from tests.support.smtp import Mailbox

pytestmark = pytest.mark.slow


class FirstRecipientStalls(Mailbox):
    """The first RCPT TO waits `stall` seconds (the consumer is killed meanwhile)."""

    def __init__(self, stall: float) -> None:
        super().__init__()
        self.stall = stall
        self.stalling = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if not self.stalling.is_set():
            self.stalling.set()
            await asyncio.sleep(self.stall)
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def database(backend: str, tmp_path: Path) -> Iterator[str]:
    with fresh_database(backend, tmp_path) as url:
        migrate(make_app(url, tmp_path))
        yield url


@pytest.fixture
def queue(backend: str, tmp_path: Path) -> Iterator[QueueForTests]:
    made = QueueForTests.sqlite(tmp_path) if backend == "sqlite" else QueueForTests.redis()
    yield made
    made.flush()


def smtp(handler: Any) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port


def consumer_for(queue: QueueForTests, database: str, tmp: Path, port: int, **kw: Any) -> Any:
    env = queue.environment(database, tmp)
    env.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(port), MAIL_CLAIM_SECONDS="2")
    consumer = Consumer(env, tmp, kw.get("workers", 2), kw.get("periodic", True))
    return consumer


def test_a_consumer_killed_mid_smtp_is_replaced_and_the_email_arrives_once(
    database, queue, tmp_path
):
    mailbox = FirstRecipientStalls(stall=8)
    controller, port = smtp(mailbox)
    app = queue.app(database, tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    first = consumer_for(queue, database, tmp_path, port)
    try:
        with app.app_context():
            user = factories.make_user(Role.SBM, school=factories.make_school())
            db.session.commit()
            email = user.email
            accounts.request_password_reset(email)
        first.start()
        wait_for(mailbox.stalling.is_set, 60, "the consumer to reach the SMTP server", first)
        first.kill()
        with app.app_context():
            row = db.session.scalar(sa.select(OutboxMessage))
            assert row.status is OutboxStatus.SENDING and row.attempts == 1
        assert mailbox.to(email) == []

        second = consumer_for(queue, database, tmp_path, port)
        second.start()
        try:
            mailbox.wait_for(email, 1, timeout=60 + LEASE_SECONDS)

            def sent() -> bool:
                with app.app_context():
                    found = db.session.scalar(sa.select(OutboxMessage))
                    return found is not None and found.status is OutboxStatus.SENT

            wait_for(sent, 30, "the outbox row to be marked sent", second)
        finally:
            second.stop()
        with app.app_context():
            row = db.session.scalar(sa.select(OutboxMessage))
            assert row.attempts == 2
            assert db.session.scalar(sa.select(JobRun.status)) is JobStatus.SUCCEEDED
        [message] = mailbox.to(email)
        assert message["Subject"] == "Reset your Pooled password"
        assert message["Message-ID"] == row.message_id
    finally:
        first.stop()
        controller.stop()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_consumers_on_redis_send_each_email_once(database, tmp_path):
    queue = QueueForTests.redis()
    mailbox = Mailbox()
    controller, port = smtp(mailbox)
    app = queue.app(database, tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    one = consumer_for(queue, database, tmp_path, port)
    two = consumer_for(queue, database, tmp_path, port, periodic=False)
    try:
        one.start()
        two.start()
        with app.app_context():
            people = [factories.make_user(Role.COMMITTEE) for _ in range(30)]
            notify(
                "contract_ending",
                people,
                event="contract-1-ending-30",
                template="password_reset",
                subject="Contract 1 ends in 30 days",
                link="/contracts/1",
            )
            db.session.commit()
            addresses = [p.email for p in people]
            # Every job's message a second time, as a re-delivery would.
            for job_id in db.session.scalars(sa.select(JobRun.id)):
                send(send_email.name, job_id)
        for address in addresses:
            mailbox.wait_for(address, 1, timeout=120)

        def all_done() -> bool:
            with app.app_context():
                return db.session.scalar(
                    sa.select(sa.func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == OutboxStatus.SENT)
                ) == len(addresses)

        wait_for(all_done, 60, "every row to be marked sent", one)
        assert sorted(m["To"] for m in mailbox.messages) == sorted(addresses)
        with app.app_context():
            workers = {
                label.split(":")[1] for label in db.session.scalars(sa.select(JobRun.claimed_by))
            }
        assert workers == {str(one.pid), str(two.pid)}
    finally:
        one.stop()
        two.stop()
        controller.stop()
        queue.flush()
