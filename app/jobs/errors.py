"""Why a job cannot be retried."""

from __future__ import annotations

from app.errors import Conflict, NotFound


class JobNotFound(NotFound):
    code = "job_not_found"


class JobCannotRetry(Conflict):
    code = "job_cannot_retry"
