"""Forms for tenders: the committee's tender, lots, questions and evaluation; providers' bids."""

from __future__ import annotations

import re
from datetime import datetime, time

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional
from wtforms.widgets import TextInput

from app.forms import (
    DayField,
    PoundsField,
    RecordChoiceField,
    RecordChoicesField,
    Required,
    WholeNumberField,
    filled,
)
from app.time import london_instant
from procurement.tenders.bids import ANSWER_MAX, MAX_TIERS, BidInput
from procurement.tenders.changes import REASON_MAX
from procurement.tenders.drafting import (
    QUESTION_MAX,
    TEXT_MAX,
    TITLE_MAX,
    LotInput,
    QuestionInput,
    TenderInput,
)
from procurement.tenders.errors import InvalidBid
from procurement.tenders.models import Criterion

_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")


class ClockField(Field):
    """A time of day typed as 24-hour HH:MM (London time); `data` is a `datetime.time`."""

    widget = TextInput()
    data: time | None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return self.data.strftime("%H:%M") if isinstance(self.data, time) else (self.data or "")

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        match = _TIME.match(valuelist[0].strip())
        if match is None:
            self.data = None
            raise ValueError(f"{self.label.text}: enter a 24-hour time like 12:00")
        self.data = time(int(match.group(1)), int(match.group(2)))


def _reason_field() -> TextAreaField:
    return TextAreaField(
        "Reason for the change",
        description="Needed once the tender is open: bidders are told and must re-confirm.",
        validators=[Optional(), Length(max=REASON_MAX)],
    )


class TenderForm(FlaskForm):
    title = StringField(
        "Title",
        validators=[Required("Enter a title for the tender"), Length(max=TITLE_MAX)],
    )
    description = TextAreaField(
        "What the partnership is buying", validators=[Optional(), Length(max=TEXT_MAX)]
    )
    deadline_on = DayField("Deadline for bids: date", validators=[Required("Enter the date")])
    deadline_time = ClockField(
        "Deadline for bids: time (UK time)",
        default="12:00",
        validators=[Required("Enter the time, like 12:00")],
    )
    contract_starts_on = DayField(
        "Contract starts", validators=[Required("Enter the date the contract starts")]
    )
    contract_ends_on = DayField(
        "Contract ends", validators=[Required("Enter the date the contract ends")]
    )
    min_valid_bids = WholeNumberField(
        "Minimum number of valid bids per lot",
        description="With fewer valid bids a lot is unsuccessful.",
        default=2,
        validators=[Required("Enter the minimum number of valid bids")],
    )
    price_weight = WholeNumberField(
        "Price weight (%)", default=60, validators=[Required("Enter the price weight")]
    )
    quality_weight = WholeNumberField(
        "Quality weight (%)", default=30, validators=[Required("Enter the quality weight")]
    )
    social_value_weight = WholeNumberField(
        "Social value weight (%)",
        default=10,
        validators=[Required("Enter the social value weight")],
    )
    school_ids = RecordChoicesField("Schools taking part", choices=[])
    reason = _reason_field()

    def to_input(self) -> TenderInput:
        deadline: datetime = london_instant(
            filled(self.deadline_on.data), filled(self.deadline_time.data)
        )
        return TenderInput(
            title=self.title.data or "",
            description=self.description.data or "",
            deadline_at=deadline,
            contract_starts_on=filled(self.contract_starts_on.data),
            contract_ends_on=filled(self.contract_ends_on.data),
            min_valid_bids=filled(self.min_valid_bids.data),
            price_weight=filled(self.price_weight.data),
            quality_weight=filled(self.quality_weight.data),
            social_value_weight=filled(self.social_value_weight.data),
            school_ids=tuple(self.school_ids.data or ()),
        )


class LotForm(FlaskForm):
    title = StringField(
        "Lot title", validators=[Required("Enter a title for the lot"), Length(max=TITLE_MAX)]
    )
    description = TextAreaField("Description (optional)", validators=[Optional()])
    service_id = RecordChoiceField(
        "Service", validators=[Required("Choose a service from the catalogue")]
    )
    expected_volume = WholeNumberField(
        "Expected volume over the contract",
        description="Units the schools expect to buy: bids are priced on this volume.",
        validators=[Required("Enter the expected volume")],
    )
    max_suppliers = WholeNumberField(
        "How many providers can win this lot?",
        description="1 for a single-sourced lot; more to share it between providers.",
        default=1,
        validators=[Required("Enter how many providers can win the lot, 1 or more")],
    )
    reason = _reason_field()

    def to_input(self) -> LotInput:
        return LotInput(
            title=self.title.data or "",
            description=self.description.data or "",
            service_id=self.service_id.data or 0,
            expected_volume=filled(self.expected_volume.data),
            max_suppliers=filled(self.max_suppliers.data),
        )


class QuestionForm(FlaskForm):
    criterion = RadioField(
        "Scored under",
        choices=[(c.value, c.label) for c in Criterion],
        validators=[Required("Choose what the question is scored under")],
    )
    text = TextAreaField(
        "Question",
        validators=[Required("Enter the question"), Length(max=QUESTION_MAX)],
    )
    reason = _reason_field()

    def to_input(self) -> QuestionInput:
        return QuestionInput(criterion=Criterion(self.criterion.data), text=self.text.data or "")


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        "Reason",
        validators=[Required("Give the reason"), Length(max=REASON_MAX)],
    )


class DocumentForm(FlaskForm):
    file = FileField("Document")
    reason = _reason_field()


class BidDocumentForm(FlaskForm):
    file = FileField("Add a document to your bid")


class ClarificationForm(FlaskForm):
    question = TextAreaField(
        "Your question",
        description="The committee answers every bidder at once; nobody is told who asked.",
        validators=[Required("Enter your question"), Length(max=QUESTION_MAX)],
    )


class AnswerForm(FlaskForm):
    answer = TextAreaField(
        "Answer to all bidders",
        validators=[Required("Enter the answer"), Length(max=TEXT_MAX)],
    )


class TierRow(Form):
    min_quantity = WholeNumberField("From quantity", validators=[Optional()])
    unit_price = PoundsField("Price per unit", validators=[Optional()], allow_zero=False)


class AnswerRow(Form):
    question_id = HiddenField()
    text = TextAreaField("Answer", validators=[Optional(), Length(max=ANSWER_MAX)])


class BidForm(FlaskForm):
    tiers = FieldList(FormField(TierRow), min_entries=MAX_TIERS, max_entries=MAX_TIERS)
    capacity = WholeNumberField(
        "Capacity over the contract",
        description="The most units you can deliver over the whole contract.",
        validators=[Required("Enter your capacity")],
    )
    answers = FieldList(FormField(AnswerRow))

    def tier_rows(self) -> tuple[tuple[int, int], ...]:
        """(from, pence) rows; a half-filled row is refused (the message goes on the form)."""
        rows = []
        for number, entry in enumerate(self.tiers, start=1):
            quantity = entry.form.min_quantity.data
            price = entry.form.unit_price.data
            if quantity is None and price is None:
                continue
            if quantity is None or price is None:
                raise InvalidBid(
                    f"Price tier {number}: give both the “from” quantity and the price"
                )
            rows.append((quantity, price))
        return tuple(rows)

    def to_input(self) -> BidInput:
        tiers = self.tier_rows()
        answers = {}
        for entry in self.answers:
            try:
                question_id = int(entry.form.question_id.data or "")
            except (TypeError, ValueError):
                continue
            answers[question_id] = entry.form.text.data or ""
        return BidInput(capacity=self.capacity.data, tiers=tiers, answers=answers)


class DeclarationForm(FlaskForm):
    has_conflict = RadioField(
        "Do you have a conflict of interest with any bidder for this lot?",
        choices=[("no", "No"), ("yes", "Yes")],
        validators=[Required("Say whether you have a conflict of interest")],
    )
    details = TextAreaField(
        "If yes, describe it",
        description="For example a family member works for a bidder, or you advise one.",
        validators=[Optional(), Length(max=2_000)],
    )


class ScoreForm(FlaskForm):
    quality = WholeNumberField("Quality score (0–100)", validators=[Optional()])
    quality_comment = TextAreaField("Why this quality score", validators=[Optional()])
    social_value = WholeNumberField("Social value score (0–100)", validators=[Optional()])
    social_value_comment = TextAreaField("Why this social value score", validators=[Optional()])


class ModerationRow(Form):
    bid_id = HiddenField()
    quality = WholeNumberField("Moderated quality score", validators=[Optional()])
    social_value = WholeNumberField("Moderated social value score", validators=[Optional()])


class ModerationForm(FlaskForm):
    rows = FieldList(FormField(ModerationRow))

    def to_input(self) -> dict[int, dict[Criterion, int | None]]:
        """The moderated scores typed, by bid id (rows without a bid id left out)."""
        moderated: dict[int, dict[Criterion, int | None]] = {}
        for entry in self.rows:
            try:
                bid_id = int(entry.form.bid_id.data or "")
            except (TypeError, ValueError):
                continue
            moderated[bid_id] = {
                Criterion.QUALITY: entry.form.quality.data,
                Criterion.SOCIAL_VALUE: entry.form.social_value.data,
            }
        return moderated
