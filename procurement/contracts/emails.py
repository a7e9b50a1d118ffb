"""Contracts' messages: changes and terminations are told to those they concern
(`contract_changed`). The reminders before a contract ends are the renewal pipeline's
(`procurement.pipeline.emails`)."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import PARTNERSHIP_ROLES, SCHOOL_ROLES, User
from app.notifications.rendering import link
from app.notifications.services import notify
from app.time import format_date
from procurement.contracts.models import (
    AMENDMENT_PRICE_KINDS,
    Contract,
    ContractAmendment,
    ContractSchool,
)
from procurement.rounds.emails import school_staff
from procurement.tenders.emails import provider_users

# --- Contract changes and terminations --------------------------------------------------------


def _school_staff(contract: Contract) -> list[User]:
    school_ids = db.session.scalars(
        sa.select(ContractSchool.school_id).where(ContractSchool.contract_id == contract.id)
    )
    return school_staff(school_ids, roles=sorted(SCHOOL_ROLES))


def _tell(
    contract: Contract, recipients: list[User], event: str, subject: str, **lines: str
) -> int:
    written = notify(
        "contract_changed",
        recipients,
        event=f"contract-{contract.id}-{event}",
        template="contract_changed",
        subject=subject,
        link=link("procurement.contract_detail", contract_id=contract.id),
        about=("contract", contract.id),
        summary=lines.get("headline", ""),
        contract=contract,
        **lines,
    )
    return len(written)


def amendment_proposed(contract: Contract, amendment: ContractAmendment, proposer: User) -> int:
    """The other committee members and admins: a change waits for a second person's approval."""
    others = db.session.scalars(
        sa.select(User)
        .where(
            User.role.in_(sorted(PARTNERSHIP_ROLES)),
            User.active.is_(True),
            User.id != proposer.id,
        )
        .order_by(User.id)
    ).all()
    return _tell(
        contract,
        list(others),
        f"amendment-{amendment.number}-proposed",
        f"Contract {contract.reference}: a change waits for your approval",
        headline=f"{proposer.name} proposed a change: {amendment.description}.",
        detail=f"Reason: {amendment.reason}",
        action="A second committee member or admin must approve it before it applies.",
    )


def amendment_approved(contract: Contract, amendment: ContractAmendment) -> int:
    """The provider's users; for a price change, the participating schools' SBMs and heads."""
    recipients = provider_users([contract.provider_id])
    if amendment.kind in AMENDMENT_PRICE_KINDS:
        recipients += _school_staff(contract)
    return _tell(
        contract,
        recipients,
        f"amendment-{amendment.number}-approved",
        f"Contract {contract.reference} has changed",
        headline=f"{amendment.description}, from {format_date(amendment.effective_on)}.",
        detail=f"Reason: {amendment.reason}",
        action="The contract page shows the change and what it was before.",
    )


def contract_terminated(contract: Contract) -> int:
    """The provider's users and the participating schools' SBMs and heads."""
    assert contract.terminated_on is not None
    return _tell(
        contract,
        provider_users([contract.provider_id]) + _school_staff(contract),
        "terminated",
        f"Contract {contract.reference} is terminated",
        headline=(
            f"{contract.title}, with {contract.provider.name}, is terminated from "
            f"{format_date(contract.terminated_on)}."
        ),
        detail=f"Reason: {contract.termination_reason}",
        action="Orders already placed stand; no new call-off can be made at the contract’s "
        "prices from that day.",
    )
