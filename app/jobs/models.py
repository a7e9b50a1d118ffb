"""The record of every queued job: what was asked, by whom, and how it went."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import User, enum_column
from app.time import utcnow
from app.types import UTCDateTime


class JobStatus(StrEnum):
    QUEUED = "queued"  # waiting for a consumer (also between a failure and its retry)
    RUNNING = "running"  # claimed by a consumer, which renews its lease while it works
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # every attempt failed; an admin may retry it

    @property
    def label(self) -> str:
        return JOB_STATUS_LABELS[self]


JOB_STATUS_LABELS = {
    JobStatus.QUEUED: "Queued",
    JobStatus.RUNNING: "Running",
    JobStatus.SUCCEEDED: "Succeeded",
    JobStatus.FAILED: "Failed",
}


class JobRun(Model):
    """One job. The queue message carries only this row's id; the arguments live here, so a
    lost message (a consumer killed mid-task) is re-sent from the row, and a message delivered
    twice finds the row already claimed or done."""

    __tablename__ = "job_runs"
    __table_args__ = (sa.Index("ix_job_runs_status_enqueued_at", "status", "enqueued_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_name: Mapped[str] = mapped_column(sa.String(120))
    args: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # {"args": [...], "kwargs": {...}}
    args_summary: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[JobStatus] = enum_column(JobStatus, default=JobStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=1)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    # Who holds the job while it runs, and until when (renewed by the consumer's heartbeat).
    claimed_by: Mapped[str] = mapped_column(sa.String(120), default="")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )

    requested_by: Mapped[User | None] = relationship()
