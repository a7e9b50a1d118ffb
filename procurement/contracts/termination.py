"""How far a contract may be extended, and early termination (the UK11 contract termination
notice).

A termination needs one committee member or admin, a reason and the day it takes effect: from
that day no call-off is priced under the contract (`procurement.contracts.prices`); orders
already placed are not touched. Proposals still waiting are withdrawn, the provider and the
schools taking part are told, and a contract from a tender publishes a `contractTermination`
release.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from app.extensions import db
from app.models import User
from app.time import london_date, utcnow
from app.use_case import use_case
from procurement.contracts import emails, rules
from procurement.contracts.access import (
    locked_contract,
    record,
    refuse,
    release_tender,
    require_changeable,
    require_contract_manager,
    require_text,
)
from procurement.contracts.errors import InvalidContractChange
from procurement.contracts.models import (
    AmendmentStatus,
    Contract,
    ContractAmendment,
    ContractStatus,
)
from procurement.tenders import ocds


@use_case
def set_extension_limit(
    contract_id: int, actor: User, allowed_until: date | None, now: datetime | None = None
) -> Contract:
    """How far the contract may be extended (None: not at all), as its terms allow."""
    now = now or utcnow()
    require_contract_manager(actor)
    contract = locked_contract(contract_id)
    require_changeable(contract, london_date(now))
    refuse(
        rules.extension_limit_problem(contract.starts_on, contract.ends_on, allowed_until),
        "allowed_until",
    )
    before = contract.extension_allowed_until
    contract.extension_allowed_until = allowed_until
    record(
        actor,
        contract,
        "extension limit set",
        now,
        before={"extension_allowed_until": before.isoformat() if before else None},
        after={"extension_allowed_until": allowed_until.isoformat() if allowed_until else None},
    )
    db.session.commit()
    return contract


@use_case
def terminate_contract(
    contract_id: int,
    actor: User,
    reason: str,
    terminated_on: date | None,
    now: datetime | None = None,
) -> Contract:
    """End the contract early: no call-off at its prices from `terminated_on`."""
    now = now or utcnow()
    require_contract_manager(actor)
    contract = locked_contract(contract_id)
    require_changeable(contract, london_date(now))
    reason = require_text(reason, "Say why the contract is terminated", "reason")
    if terminated_on is None:
        raise InvalidContractChange(
            "Enter the date the termination takes effect", field="terminated_on"
        )
    refuse(
        rules.termination_problem(contract.starts_on, contract.ends_on, terminated_on),
        "terminated_on",
    )
    before = {"status": contract.status.value}
    contract.status = ContractStatus.TERMINATED
    contract.terminated_on = terminated_on
    contract.termination_reason = reason
    contract.terminated_at = now
    for waiting in db.session.scalars(
        sa.select(ContractAmendment).where(
            ContractAmendment.contract_id == contract.id,
            ContractAmendment.status == AmendmentStatus.PROPOSED,
        )
    ):
        waiting.status = AmendmentStatus.WITHDRAWN
        waiting.decided_by_id, waiting.decided_at = actor.id, now
        waiting.decision_note = "The contract was terminated."
    record(
        actor,
        contract,
        "terminated",
        now,
        before=before,
        after={
            "status": contract.status.value,
            "terminated_on": terminated_on.isoformat(),
            "reason": reason,
        },
    )
    db.session.flush()
    tender = release_tender(contract)
    if tender is not None:  # the UK11 contract termination notice
        ocds.record_release(tender, "contractTermination", now)
    emails.contract_terminated(contract)
    db.session.commit()
    return contract
