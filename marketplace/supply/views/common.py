"""What every supply page needs: who is asking, as a school, an agency or the partnership."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from app.extensions import db
from app.models import PARTNERSHIP_ROLES, SCHOOL_ROLES, Role
from app.time import london_today
from marketplace.supply.models import SupplyContract

SCHOOL = (Role.SBM, Role.HEAD)
EVERYONE = (Role.SBM, Role.HEAD, Role.PROVIDER, Role.ADMIN, Role.COMMITTEE)


@dataclass(frozen=True)
class Viewer:
    school_id: int | None
    agency_id: int | None
    partnership: bool


def viewer() -> Viewer:
    """The signed-in user's side of the service."""
    role = current_user.role
    if role in SCHOOL_ROLES:
        return Viewer(current_user.school_id, None, False)
    if role is Role.PROVIDER:
        return Viewer(None, current_user.provider_id, False)
    if role in PARTNERSHIP_ROLES:
        return Viewer(None, None, True)
    abort(403)


def current_contract() -> SupplyContract | None:
    """The managed-service contract running today (the latest to start)."""
    today = london_today()
    return db.session.scalar(
        sa.select(SupplyContract)
        .where(SupplyContract.starts_on <= today, SupplyContract.ends_on >= today)
        .order_by(SupplyContract.starts_on.desc(), SupplyContract.id.desc())
    )
