"""Reading a run's answer: what each offer wins, and why each school got what it got."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from procurement.rounds.inputs import school_key
from procurement.rounds.models import RoundRun, RunStatus


@dataclass(frozen=True)
class AwardLine:
    """What one offer wins in one lot."""

    offer_key: str
    offer_id: int
    offer_title: str
    provider_id: int
    provider_name: str
    lot_key: str
    lot_label: str
    unit: str
    units: int
    tier_number: int  # 1-based
    tier_count: int
    tier_from: int
    unit_price_pence: int
    setup_pence: int
    cost_pence: int
    capacity_left: int
    next_tier: tuple[int, int] | None  # (more units needed, unit price there)


@dataclass(frozen=True)
class Supply:
    """Units of one school's lot that one offer supplies."""

    award: AwardLine
    units: int


@dataclass(frozen=True)
class SchoolLine:
    """Why one school got what it got in one lot."""

    school_id: int
    school_name: str
    lot_key: str
    lot_label: str
    unit: str
    pledged: int
    met: int
    supplies: tuple[Supply, ...]
    standalone_pence: int | None  # the cheapest single offer for the whole pledge, alone
    basis_pence: int  # what the units met would cost alone (the sharing weight)
    charge_pence: int

    @property
    def unmet(self) -> int:
        return self.pledged - self.met

    @property
    def saving_pence(self) -> int:
        return self.basis_pence - self.charge_pence

    @property
    def saving_percent(self) -> float | None:
        if not self.basis_pence:
            return None
        return 100 * self.saving_pence / self.basis_pence

    @property
    def average_unit_pence(self) -> int | None:
        if not self.met:
            return None
        return (2 * self.charge_pence + self.met) // (2 * self.met)


@dataclass(frozen=True)
class Answer:
    """A result read with its labels: awards per offer, lines per school and lot."""

    status: str
    message: str | None
    objective_pence: int | None
    awards: tuple[AwardLine, ...]
    lines: tuple[SchoolLine, ...]
    checks: tuple[dict[str, Any], ...]

    @property
    def standalone_total_pence(self) -> int:
        return sum(line.basis_pence for line in self.lines)

    @property
    def charged_total_pence(self) -> int:
        return sum(line.charge_pence for line in self.lines)

    @property
    def saving_total_pence(self) -> int:
        return self.standalone_total_pence - self.charged_total_pence

    @property
    def unmet_units(self) -> int:
        return sum(line.unmet for line in self.lines)

    def lines_for(self, school_id: int) -> list[SchoolLine]:
        return [line for line in self.lines if line.school_id == school_id]


def read_answer(
    instance: Mapping[str, Any],
    labels: Mapping[str, Any],
    result: Mapping[str, Any],
    school_id: int | None = None,
) -> Answer:
    """Join a result to its instance and labels; only one school's lines if school_id is given."""
    offers = {o["id"]: o for o in instance["offers"]}
    awards: dict[str, AwardLine] = {}
    for award in result.get("awards", []):
        offer = offers[award["offer"]]
        label = labels["offers"][award["offer"]]
        lot = labels["lots"][award["service"]]
        tiers = offer["tiers"]
        tier = award["tier"]
        next_tier = None
        if tier + 1 < len(tiers):
            following = tiers[tier + 1]
            next_tier = (following["from"] - award["quantity"], following["unit_price_pence"])
        awards[award["offer"]] = AwardLine(
            offer_key=award["offer"],
            offer_id=label["id"],
            offer_title=label["title"],
            provider_id=labels["providers"][award["provider"]]["id"],
            provider_name=labels["providers"][award["provider"]]["name"],
            lot_key=award["service"],
            lot_label=f"{lot['service']}, {lot['term']}",
            unit=lot["unit"],
            units=award["quantity"],
            tier_number=tier + 1,
            tier_count=len(tiers),
            tier_from=tiers[tier]["from"],
            unit_price_pence=award["unit_price_pence"],
            setup_pence=award["setup_pence"],
            cost_pence=award["cost_pence"],
            capacity_left=offer["capacity"],
            next_tier=next_tier,
        )
    only = school_key(school_id) if school_id is not None else None
    supplies: dict[tuple[str, str], list[Supply]] = defaultdict(list)
    for allocation in result.get("allocations", []):
        if only is not None and allocation["school"] != only:
            continue
        supplies[(allocation["school"], allocation["service"])].append(
            Supply(awards[allocation["offer"]], allocation["quantity"])
        )
    lines = []
    for charge in result.get("charges", []):
        if only is not None and charge["school"] != only:
            continue
        school = labels["schools"][charge["school"]]
        lot = labels["lots"][charge["service"]]
        lines.append(
            SchoolLine(
                school_id=school["id"],
                school_name=school["name"],
                lot_key=charge["service"],
                lot_label=f"{lot['service']}, {lot['term']}",
                unit=lot["unit"],
                pledged=charge["quantity"],
                met=charge["met"],
                supplies=tuple(
                    sorted(
                        supplies[(charge["school"], charge["service"])],
                        key=lambda s: s.award.offer_key,
                    )
                ),
                standalone_pence=charge["standalone_pence"],
                basis_pence=charge["basis_pence"],
                charge_pence=charge["charge_pence"],
            )
        )
    lines.sort(key=lambda line: (line.school_name, line.school_id, line.lot_key))
    return Answer(
        status=result["status"],
        message=result.get("message"),
        objective_pence=result.get("objective_pence"),
        awards=tuple(sorted(awards.values(), key=lambda a: (a.lot_key, a.provider_name))),
        lines=tuple(lines),
        checks=tuple(result.get("checks", [])),
    )


def run_answer(run: RoundRun, school_id: int | None = None) -> Answer | None:
    """A finished run's answer (None while it runs or if it failed)."""
    if run.status is not RunStatus.DONE or run.result is None:
        return None
    return read_answer(run.inputs, run.labels, run.result, school_id)
