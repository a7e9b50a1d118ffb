"""The committee's actions on KPIs below target: raised once per KPI and quarter — when a
provider returns a figure below target, and by the morning job for the latest quarter whose
return deadline has passed — with a notification to committee members; closed with a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Role, User
from app.notifications.rendering import link
from app.notifications.services import notify
from app.time import format_date, london_today, utcnow
from app.use_case import use_case
from procurement.contracts.models import Contract, ContractStatus
from procurement.kpis import figures, rules
from procurement.kpis.access import record, require_partnership
from procurement.kpis.errors import InvalidKpi, KpiActionNotFound, KpiStateConflict
from procurement.kpis.models import ActionStatus, ContractKpi, KpiAction
from procurement.kpis.rules import KpiStatus, Quarter

NOTE_MAX = 2_000


def committee_members() -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.role == Role.COMMITTEE, User.active.is_(True))
            .order_by(User.id)
        )
    )


def raise_if_below(
    kpi: ContractKpi, quarter: Quarter, value: int | None, now: datetime
) -> KpiAction | None:
    """Raise the committee's action when the figure is below target, once per KPI and quarter
    (a second call, or a concurrent one, finds the unique key taken and does nothing). In the
    caller's transaction; the new action, or None."""
    if rules.status(value, kpi.target_hundredths, kpi.direction) is not KpiStatus.BELOW:
        return None
    assert value is not None
    taken = sa.select(KpiAction.id).where(
        KpiAction.kpi_id == kpi.id, KpiAction.quarter == quarter.key
    )
    if db.session.scalar(taken) is not None:
        return None
    contract = kpi.contract
    action = KpiAction(
        kpi_id=kpi.id,
        contract_id=contract.id,
        provider_id=contract.provider_id,
        quarter=quarter.key,
        value_hundredths=value,
        target_hundredths=kpi.target_hundredths,
        status=ActionStatus.OPEN,
        raised_at=now,
        note="",
    )
    try:
        with db.session.begin_nested():
            db.session.add(action)
    except IntegrityError:
        return None
    record(None, "kpi_action", action.id, "raised", contract.id, after={"quarter": quarter.key})
    figure = rules.format_value(value, kpi.unit)
    target = rules.format_target(kpi.target_hundredths, kpi.unit, kpi.direction)
    notify(
        "kpi_action",
        committee_members(),
        event=f"kpi-{kpi.id}-{quarter.key}-below",
        template="kpi_action",
        subject=f"KPI below target: {contract.reference}, {quarter.label}",
        link=link("procurement.kpi_action", action_id=action.id),
        about=("kpi_action", action.id),
        summary=f"{kpi.name}: {figure} against a target of {target} ({contract.provider.name})",
        contract=contract,
        kpi=kpi,
        quarter=quarter.label,
        figure=figure,
        target=target,
    )
    return action


@use_case
def raise_actions_past_deadline(today: date | None = None, now: datetime | None = None) -> int:
    """Every morning: judge every KPI of the contracts running in the latest quarter whose
    return deadline has passed, and raise an action for each one below target (once per KPI
    and quarter); how many were raised."""
    today = today or london_today()
    now = now or utcnow()
    quarter = rules.latest_quarter_past_deadline(today)
    contracts = db.session.scalars(
        sa.select(Contract)
        .where(
            Contract.status.in_([ContractStatus.ACTIVE, ContractStatus.EXPIRED]),
            Contract.starts_on <= quarter.ends_on,
            Contract.ends_on >= quarter.starts_on,
        )
        .order_by(Contract.id)
    ).all()
    raised = 0
    for contract in contracts:
        kpis = list(
            db.session.scalars(
                sa.select(ContractKpi)
                .where(ContractKpi.contract_id == contract.id, ContractKpi.removed_at.is_(None))
                .order_by(ContractKpi.id)
            )
        )
        found = figures.figures(contract, kpis, [quarter], today)
        for kpi in kpis:
            if raise_if_below(kpi, quarter, found[(kpi.id, quarter.key)], now) is not None:
                raised += 1
    db.session.commit()
    return raised


@dataclass(frozen=True)
class ActionRow:
    action: KpiAction
    quarter_label: str
    figure: str
    target: str


def _row(action: KpiAction) -> ActionRow:
    kpi = action.kpi
    try:
        label = Quarter.parse(action.quarter).label
    except ValueError:
        label = action.quarter
    return ActionRow(
        action=action,
        quarter_label=label,
        figure=rules.format_value(action.value_hundredths, kpi.unit),
        target=rules.format_target(action.target_hundredths, kpi.unit, kpi.direction),
    )


def action_rows(
    contract_id: int | None = None, status: ActionStatus | None = None
) -> list[ActionRow]:
    """Actions, open first then the most recent, for one contract or every contract."""
    stmt = (
        sa.select(KpiAction)
        .options(
            selectinload(KpiAction.kpi),
            selectinload(KpiAction.contract).selectinload(Contract.provider),
            selectinload(KpiAction.closed_by),
        )
        .order_by(
            sa.case((KpiAction.status == ActionStatus.OPEN, 0), else_=1),
            KpiAction.raised_at.desc(),
            KpiAction.id.desc(),
        )
    )
    if contract_id is not None:
        stmt = stmt.where(KpiAction.contract_id == contract_id)
    if status is not None:
        stmt = stmt.where(KpiAction.status == status)
    return [_row(action) for action in db.session.scalars(stmt)]


def get_action(action_id: int) -> ActionRow:
    action = db.session.get(KpiAction, action_id)
    if action is None:
        raise KpiActionNotFound()
    return _row(action)


@use_case
def close_action(action_id: int, note: str, actor: User, now: datetime | None = None) -> KpiAction:
    """Close an open action with a note of what was done (an improvement plan, a meeting…)."""
    require_partnership(actor, "close actions")
    action = db.session.scalar(
        sa.select(KpiAction).where(KpiAction.id == action_id).with_for_update()
    )
    if action is None:
        raise KpiActionNotFound()
    text = note.strip()
    if not text:
        raise InvalidKpi("Say what was done about it", field="note")
    if len(text) > NOTE_MAX:
        raise InvalidKpi(f"Keep the note to {NOTE_MAX:,} characters", field="note")
    if action.status is ActionStatus.CLOSED:
        raise KpiStateConflict(
            f"This action was closed on {format_date(action.closed_at)}; nothing was changed."
        )
    action.status = ActionStatus.CLOSED
    action.closed_at = now or utcnow()
    action.closed_by_id = actor.id
    action.note = text
    record(actor, "kpi_action", action.id, "closed", action.contract_id, after={"note": text})
    db.session.commit()
    return action
