"""Two runs of a round side by side: what each rule costs before the committee chooses it.

`compare_runs` loads and checks the two runs (finished, of this round, not the same one);
`comparison_of` works every figure out from the runs' stored answers, in integer pence: the
headline figures with their change (b − a), what each offer wins, each school's charge under
each run, and the chart's geometry. Templates only format what is here.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from procurement.rounds.answers import Answer, run_answer
from procurement.rounds.errors import RoundError, RoundStateConflict, RunStateConflict
from procurement.rounds.models import RoundRun, RunStatus

# How the schools' table can be ordered (the `sort` query parameter), default first.
SORTS = {
    "difference": "biggest difference",
    "rise": "biggest rise",
    "fall": "biggest fall",
    "school": "school name",
}
DEFAULT_SORT = "difference"


@dataclass(frozen=True)
class Change:
    """A figure under run a and run b, and how far b moves it."""

    a: int
    b: int

    @property
    def difference(self) -> int:
        return self.b - self.a

    @property
    def percent(self) -> float | None:
        """The difference as a percentage of a; None when a is 0 (no base to compare with)."""
        if not self.a:
            return None
        return 100 * self.difference / self.a


@dataclass(frozen=True)
class RunSide:
    """One run as the comparison reads it: its number, rules, status and answer."""

    run_id: int
    number: int
    single_source: bool
    max_share_percent: int
    min_providers: int
    time_limit_seconds: int
    solver: str
    outcome: str
    gap: float | None
    objective_pence: int | None
    answer: Answer

    @property
    def providers_used(self) -> int:
        return len({award.provider_id for award in self.answer.awards})


@dataclass(frozen=True)
class Figure:
    """A headline figure: kind is "money" (pence) or "units" or "count"."""

    label: str
    kind: str
    change: Change


@dataclass(frozen=True)
class OfferLine:
    """What one offer wins in one lot under each run (0 where it wins nothing)."""

    provider_name: str
    offer_title: str
    lot_label: str
    units: Change
    cost: Change


@dataclass(frozen=True)
class SchoolCharge:
    """One school's charge under each run, over all its lots."""

    school_id: int
    school_name: str
    pledged: int
    met: Change
    charge: Change


@dataclass(frozen=True)
class ChartBar:
    """One run's bar in a measure: where it goes and how wide (% of the chart) it is."""

    label: str
    value: int
    label_y: int
    bar_y: int
    value_y: int
    width: float
    value_inside: bool


@dataclass(frozen=True)
class ChartGroup:
    """A measure (pooled cost, units unmet): its heading and a bar per run."""

    heading: str
    kind: str
    heading_y: int
    bars: tuple[ChartBar, ChartBar]


@dataclass(frozen=True)
class Chart:
    groups: tuple[ChartGroup, ...]
    height: int
    bar_height: int


@dataclass(frozen=True)
class RunComparison:
    a: RunSide
    b: RunSide
    figures: tuple[Figure, ...]
    offers: tuple[OfferLine, ...]
    schools: tuple[SchoolCharge, ...]
    sort: str
    chart: Chart

    @property
    def charge_total(self) -> Change:
        return Change(sum(s.charge.a for s in self.schools), sum(s.charge.b for s in self.schools))


# Chart layout, in CSS pixels (as app.dashboards.charts lays its bar charts out).
LINE = 20
BAR = 24
GAP = 14
VALUE_INSIDE_FROM = 60


def _side(run: RoundRun, answer: Answer) -> RunSide:
    rules = run.inputs.get("rules", {})
    return RunSide(
        run_id=run.id,
        number=run.number,
        single_source=bool(rules.get("single_source", False)),
        max_share_percent=round(float(rules.get("max_share", 1.0)) * 100),
        min_providers=int(rules.get("min_providers", 1)),
        time_limit_seconds=run.time_limit_seconds,
        solver=run.solver_label or run.solver,
        outcome=run.outcome or "",
        gap=run.gap,
        objective_pence=run.objective_pence,
        answer=answer,
    )


def _offers(a: Answer, b: Answer) -> list[OfferLine]:
    keys: dict[tuple[str, str], tuple[str, str, str]] = {}
    units: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    cost: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for index, answer in enumerate((a, b)):
        for award in answer.awards:
            key = (award.lot_key, award.offer_key)
            keys[key] = (award.provider_name, award.offer_title, award.lot_label)
            units[key][index] += award.units
            cost[key][index] += award.cost_pence
    lines = [
        OfferLine(*keys[key], units=Change(*units[key]), cost=Change(*cost[key])) for key in keys
    ]
    lines.sort(key=lambda line: (line.lot_label, line.provider_name, line.offer_title))
    return lines


def _schools(a: Answer, b: Answer) -> list[SchoolCharge]:
    names: dict[int, str] = {}
    pledged: tuple[dict[int, int], dict[int, int]] = (defaultdict(int), defaultdict(int))
    met: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    charge: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for index, answer in enumerate((a, b)):
        for line in answer.lines:
            names[line.school_id] = line.school_name
            pledged[index][line.school_id] += line.pledged
            met[line.school_id][index] += line.met
            charge[line.school_id][index] += line.charge_pence
    return [
        SchoolCharge(
            school_id=school_id,
            school_name=names[school_id],
            pledged=pledged[0].get(school_id, pledged[1][school_id]),
            met=Change(*met[school_id]),
            charge=Change(*charge[school_id]),
        )
        for school_id in names
    ]


def ordered(schools: Iterable[SchoolCharge], sort: str) -> list[SchoolCharge]:
    """The schools in the order asked for; ties (and "school") by name."""
    by_name = sorted(schools, key=lambda s: (s.school_name, s.school_id))
    if sort == "rise":
        return sorted(by_name, key=lambda s: -s.charge.difference)
    if sort == "fall":
        return sorted(by_name, key=lambda s: s.charge.difference)
    if sort == "difference":
        return sorted(by_name, key=lambda s: -abs(s.charge.difference))
    return by_name


def chart_of(a: RunSide, b: RunSide) -> Chart:
    """Pooled cost and units unmet, a bar per run, each measure scaled to its larger value."""
    measures = (
        ("Pooled cost", "money", (a.answer.charged_total_pence, b.answer.charged_total_pence)),
        ("Units unmet", "units", (a.answer.unmet_units, b.answer.unmet_units)),
    )
    groups = []
    y = 0
    for heading, kind, values in measures:
        heading_y = y + LINE - 4
        y += LINE + 4
        top = max(values)
        bars = []
        for side, value in zip((a, b), values, strict=True):
            label_y = y + LINE - 4
            bar_y = y + LINE
            width = round(value / top * 100, 2) if top > 0 and value > 0 else 0.0
            bars.append(
                ChartBar(
                    label=f"Run {side.number}",
                    value=value,
                    label_y=label_y,
                    bar_y=bar_y,
                    value_y=bar_y + BAR - 7,
                    width=width,
                    value_inside=width >= VALUE_INSIDE_FROM,
                )
            )
            y = bar_y + BAR + GAP
        groups.append(ChartGroup(heading, kind, heading_y, (bars[0], bars[1])))
        y += GAP
    return Chart(tuple(groups), height=y, bar_height=BAR)


def comparison_of(
    run_a: RoundRun, answer_a: Answer, run_b: RoundRun, answer_b: Answer, sort: str
) -> RunComparison:
    """Every figure of the comparison from the two runs' answers."""
    a, b = _side(run_a, answer_a), _side(run_b, answer_b)
    figures = (
        Figure(
            "Pooled cost",
            "money",
            Change(answer_a.charged_total_pence, answer_b.charged_total_pence),
        ),
        Figure(
            "Buying alone",
            "money",
            Change(answer_a.standalone_total_pence, answer_b.standalone_total_pence),
        ),
        Figure(
            "Saving against buying alone",
            "money",
            Change(answer_a.saving_total_pence, answer_b.saving_total_pence),
        ),
        Figure("Units unmet", "units", Change(answer_a.unmet_units, answer_b.unmet_units)),
        Figure("Providers used", "count", Change(a.providers_used, b.providers_used)),
        Figure("Awards", "count", Change(len(answer_a.awards), len(answer_b.awards))),
    )
    sort = sort if sort in SORTS else DEFAULT_SORT
    return RunComparison(
        a=a,
        b=b,
        figures=figures,
        offers=tuple(_offers(answer_a, answer_b)),
        schools=tuple(ordered(_schools(answer_a, answer_b), sort)),
        sort=sort,
        chart=chart_of(a, b),
    )


def comparable_runs(runs: Sequence[RoundRun]) -> list[RoundRun]:
    """The runs that have an allocation to compare, newest first."""
    return sorted((r for r in runs if r.found_allocation), key=lambda r: -r.number)


def _check(run: RoundRun | None, which: str, field: str) -> RoundRun:
    if run is None:
        raise RoundError(
            f"The {which} run you chose is not a run of this round. Choose one from the list.",
            field=field,
        )
    if run.in_progress:
        raise RunStateConflict(
            f"Run {run.number} has not finished yet (it is {run.status.value}). Choose a "
            "finished run, or wait for it to finish.",
            field=field,
        )
    if run.status is RunStatus.FAILED:
        raise RunStateConflict(
            f"Run {run.number} failed, so it has no answer to compare. Choose another run.",
            field=field,
        )
    if not run.found_allocation:
        raise RunStateConflict(
            f"Run {run.number} found no allocation that meets its rules, so it has no charges "
            "to compare. Choose another run.",
            field=field,
        )
    return run


def latest_pair(runs: Sequence[RoundRun]) -> tuple[int | None, int | None]:
    """The ids of the two latest runs with an allocation (older first); Nones without two."""
    comparable = comparable_runs(runs)
    if len(comparable) < 2:
        return None, None
    return comparable[1].id, comparable[0].id


def default_pair(round_id: int) -> tuple[int | None, int | None]:
    """The two runs to compare when none is chosen: the latest two with an allocation."""
    return latest_pair(_runs(round_id))


def _runs(round_id: int) -> list[RoundRun]:
    return list(db.session.scalars(sa.select(RoundRun).where(RoundRun.round_id == round_id)))


def compare_runs(
    round_id: int, a: int | None, b: int | None, sort: str | None = None
) -> RunComparison:
    """Compare runs a and b of the round (ids); refuses, naming the problem, when they cannot."""
    runs = {run.id: run for run in _runs(round_id)}
    if len(comparable_runs(list(runs.values()))) < 2:
        raise RoundStateConflict(
            "This round has fewer than two finished runs with an allocation, so there is "
            "nothing to compare yet. Change the rules and run the aggregator again."
        )
    if a is None:
        raise RoundError("Choose the first run to compare", field="a")
    if b is None:
        raise RoundError("Choose the second run to compare", field="b")
    run_a = _check(runs.get(a), "first", "a")
    if a == b:
        raise RoundError(
            f"Choose two different runs: run {run_a.number} is chosen twice", field="b"
        )
    run_b = _check(runs.get(b), "second", "b")
    answer_a, answer_b = run_answer(run_a), run_answer(run_b)
    assert answer_a is not None and answer_b is not None  # done with an allocation
    return comparison_of(run_a, answer_a, run_b, answer_b, sort or DEFAULT_SORT)


def _pounds(pence: int) -> str:
    sign = "-" if pence < 0 else ""
    return f"{sign}{abs(pence) // 100}.{abs(pence) % 100:02d}"


def csv_text(comparison: RunComparison) -> str:
    """The schools' table as CSV, in the page's order: money as pounds with two decimals."""
    a, b = comparison.a.number, comparison.b.number
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            "School",
            "Units pledged",
            f"Units met, run {a}",
            f"Units met, run {b}",
            f"Charge, run {a} (£)",
            f"Charge, run {b} (£)",
            f"Difference, run {b} less run {a} (£)",
            "Difference (%)",
        ]
    )
    for school in comparison.schools:
        percent = school.charge.percent
        writer.writerow(
            [
                school.school_name,
                school.pledged,
                school.met.a,
                school.met.b,
                _pounds(school.charge.a),
                _pounds(school.charge.b),
                _pounds(school.charge.difference),
                "" if percent is None else f"{percent:.1f}",
            ]
        )
    return out.getvalue()


def run_choice(run: RoundRun) -> tuple[int, str]:
    """A run as an option to choose: its number, rules and how it ended."""
    rules = run.inputs.get("rules", {})
    words = [f"at most {round(float(rules.get('max_share', 1.0)) * 100)}% to one provider"]
    providers = int(rules.get("min_providers", 1))
    words.append(f"at least {providers} provider{'s' if providers != 1 else ''}")
    if rules.get("single_source"):
        words.append("single source")
    ended = (run.outcome or "") if run.status is RunStatus.DONE else run.status.value
    return run.id, f"Run {run.number}: {', '.join(words)} ({ended.replace('_', ' ')})"
