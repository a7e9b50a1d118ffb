"""Use cases for trusts: reading one for the person asking, and choosing how it is invoiced."""

from __future__ import annotations

import sqlalchemy as sa

from app import audit
from app.errors import NotFound
from app.extensions import db
from app.models import PARTNERSHIP_ROLES, Role, Trust, User
from app.use_case import use_case


class TrustNotFound(NotFound):
    code = "trust_not_found"


def get_trust_for_user(trust_id: int, user: User) -> Trust:
    """A trust the user may see: the partnership sees all; a trust's finance lead only their
    own (404 for any other)."""
    trust = db.session.get(Trust, trust_id)
    allowed = user.role in PARTNERSHIP_ROLES or (
        user.role is Role.TRUST and user.trust_id == trust_id
    )
    if trust is None or not allowed:
        raise TrustNotFound("There is no such trust.")
    return trust


def may_manage(user: User, trust: Trust) -> bool:
    """The trust's own finance lead and the partnership admin choose how it is invoiced."""
    return user.role is Role.ADMIN or (user.role is Role.TRUST and user.trust_id == trust.id)


def all_trusts() -> list[Trust]:
    """Every trust, by name."""
    return list(db.session.scalars(sa.select(Trust).order_by(Trust.name, Trust.id)))


@use_case
def set_invoicing(
    trust_id: int,
    actor: User,
    *,
    invoice_once: bool,
    finance_email: str | None = None,
    address: str | None = None,
) -> Trust:
    """Invoice the trust once for all its schools each billing period, or each school alone;
    and where the trust's invoice goes (its finance email and address; None leaves as is)."""
    trust = get_trust_for_user(trust_id, actor)
    if not may_manage(actor, trust):
        raise TrustNotFound("There is no such trust.")
    before = {
        "invoice_once": trust.invoice_once,
        "finance_email": trust.finance_email,
        "address": trust.address,
    }
    trust.invoice_once = invoice_once
    if finance_email is not None:
        trust.finance_email = finance_email.strip().lower()[:254]
    if address is not None:
        trust.address = address.strip()[:1000]
    audit.record(
        actor,
        "trust",
        trust.id,
        "invoicing set",
        before=before,
        after={
            "invoice_once": invoice_once,
            "finance_email": trust.finance_email,
            "address": trust.address,
        },
        scope=f"trust:{trust.id}",
    )
    db.session.commit()
    return trust
