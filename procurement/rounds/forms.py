"""Forms for buying rounds: opening a round, its rules, running the aggregator, pledging."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional, ValidationError

from app.forms import RecordChoicesField, Required, WholeNumberField
from app.time import london_instant
from procurement.optimizer import SOLVERS
from procurement.rounds.lifecycle import RoundInput
from procurement.rounds.pledges import PO_NUMBER_MAX


class DayField(DateField):
    """A date from the browser's date picker, with a clear message when it is not one."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(f"{self.label.text}: enter a real date, like 2026-12-11") from None


_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")


def parse_clock(text: str) -> time | None:
    """ "17:00" or "9.30" as a time of day; None when it is not one."""
    match = _TIME.match(text.strip())
    if match is None:
        return None
    return time(int(match.group(1)), int(match.group(2)))


class RulesFields:
    """The committee's rules for the aggregator (shared by the round and rules forms)."""

    max_share_percent = WholeNumberField(
        "Largest share of a lot one provider may win (%)",
        description="100 lets one provider win everything; 60 keeps at least two in play.",
        default=100,
        validators=[Required("Enter the largest share, 100 if there is no limit")],
    )
    min_providers = WholeNumberField(
        "Least number of providers for each service and term",
        default=1,
        validators=[Required("Enter the least number of providers, 1 if any will do")],
    )
    single_source = BooleanField(
        "Each school buys each service from one provider only (continuity)"
    )


class RoundForm(FlaskForm, RulesFields):
    title = StringField(
        "Title",
        description="What schools see, e.g. “Counselling days for spring term”.",
        validators=[Required("Enter a title for the round"), Length(max=200)],
    )
    description = TextAreaField(
        "What schools should know (optional)", validators=[Optional(), Length(max=4000)]
    )
    service_ids = RecordChoicesField("Services", validate_choice=False)
    term_keys = SelectMultipleField("Terms", validate_choice=False)
    offer_ids = RecordChoicesField(
        "Offers taking part",
        validate_choice=False,
        description="Each offer takes part at its own tiers and the capacity it has left.",
    )
    deadline_on = DayField(
        "Pledge deadline",
        description="Schools can pledge, change and withdraw until then.",
        validators=[Required("Enter the pledge deadline")],
    )
    pledge_step = WholeNumberField(
        "Schools pledge in blocks of",
        description=(
            "1 lets schools pledge any whole number. 5 means 5, 10, 15 … of each service (e.g."
            " days): schools pledging the same amount are priced together, so the aggregator"
            " answers faster when each school buys from one provider."
        ),
        default=1,
        validators=[Optional()],  # blank: any whole number, as 1
    )
    deadline_time = StringField(
        "Time (UK)",
        default="17:00",
        validators=[Required("Enter the time of the deadline, like 17:00")],
    )

    def validate_deadline_time(self, field: Any) -> None:
        if parse_clock(field.data or "") is None:
            raise ValidationError("Enter the time as hours and minutes, like 17:00")

    @property
    def deadline_at(self) -> datetime | None:
        clock = parse_clock(self.deadline_time.data or "")
        if self.deadline_on.data is None or clock is None:
            return None
        return london_instant(self.deadline_on.data, clock)

    def to_input(self, *, open_now: bool) -> RoundInput:
        """What the committee filled in, for `procurement.rounds.lifecycle.create_round`."""
        return RoundInput(
            title=self.title.data or "",
            description=self.description.data or "",
            service_ids=list(self.service_ids.data or []),
            term_keys=list(self.term_keys.data or []),
            offer_ids=list(self.offer_ids.data or []),
            pledge_deadline_at=self.deadline_at,
            max_share_percent=self.max_share_percent.data,
            min_providers=self.min_providers.data,
            single_source=bool(self.single_source.data),
            open_now=open_now,
            pledge_step=1 if self.pledge_step.data is None else self.pledge_step.data,
        )


class RulesForm(FlaskForm, RulesFields):
    pass


class RunForm(FlaskForm):
    solver = RadioField(
        "Solver",
        choices=[("highs", "HiGHS (default)"), ("cbc", "CBC")],
        default="highs",
        validators=[Required("Choose a solver")],
    )
    time_limit_seconds = WholeNumberField(
        "Time limit (seconds)",
        default=60,
        validators=[Required("Enter a time limit in seconds, like 60")],
    )

    def validate_solver(self, field: Any) -> None:
        if field.data not in SOLVERS:
            raise ValidationError("Choose HiGHS or CBC")


def lot_field_name(service_id: int, term_key: str) -> str:
    return f"q_{service_id}_{term_key.replace('-', '_')}"


def pledge_form(lots: Sequence[Any], formdata: Any = None, data: dict | None = None) -> FlaskForm:
    """A form with one whole-number field per lot (service and term) of the round."""

    class PledgeForm(FlaskForm):
        po_number = StringField(
            "Your purchase-order number (optional)",
            description=(
                "It goes on your call-off orders when the round is awarded. Without it they "
                "are not billed until you add it on each order."
            ),
            validators=[
                Optional(),
                Length(
                    max=PO_NUMBER_MAX, message=f"Keep it to {PO_NUMBER_MAX} characters or fewer"
                ),
            ],
        )

    for lot in lots:
        setattr(
            PledgeForm,
            lot_field_name(lot.service.id, lot.term.key),
            WholeNumberField(
                f"{lot.service.name}, {lot.term.label}",
                description=(
                    f"How many {lot.service.unit.value}s, in blocks of {lot.step}"
                    f" ({lot.step}, {2 * lot.step}, {3 * lot.step} …)? 0 or blank for none."
                    if lot.step > 1
                    else f"How many {lot.service.unit.value}s? 0 or blank for none."
                ),
                validators=[Optional()],
            ),
        )
    if formdata is None:
        return PledgeForm(data=data or {})
    return PledgeForm(formdata=formdata)


def _run_id(value: Any) -> int | None:
    """A run's id from the address, or None when it is blank or not a number."""
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 12 else None


class CompareRunsForm(FlaskForm):
    """Two runs of a round to compare (a GET form: nothing is written, so no CSRF token)."""

    class Meta:
        csrf = False

    a = SelectField("First run", coerce=_run_id, validate_choice=False)
    b = SelectField("Second run", coerce=_run_id, validate_choice=False)
