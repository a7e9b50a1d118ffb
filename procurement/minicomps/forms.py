"""Forms for mini-competitions: the school's quote request, a supplier's quote, and the
school's reasons and quality scores after opening."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from app.forms import (
    DayField,
    PoundsField,
    RecordChoiceField,
    Required,
    WholeNumberField,
    filled,
)
from app.time import london_instant
from procurement.minicomps.labels import METHOD_TEXT
from procurement.minicomps.models import AwardMethod
from procurement.minicomps.services import (
    NOTE_MAX,
    REQUIREMENT_MAX,
    TITLE_MAX,
    RequestInput,
)
from procurement.tenders.forms import ClockField


class RequestForm(FlaskForm):
    school_id = RecordChoiceField(
        "For which school?", validators=[Required("Choose the school the call-off is for")]
    )
    title = StringField(
        "Short title", validators=[Required("Enter a short title"), Length(max=TITLE_MAX)]
    )
    requirement = TextAreaField(
        "What the school needs",
        description="Suppliers quote against this: dates, outcomes, anything they must meet.",
        validators=[Required("Describe what the school needs"), Length(max=REQUIREMENT_MAX)],
    )
    quantity = WholeNumberField("Quantity", validators=[Required("Enter the quantity")])
    # Checked by the use case (a term the framework covers), which names the field.
    term_key = SelectField("Term", validate_choice=False, validators=[Required("Choose the term")])
    deadline_on = DayField("Deadline for quotes: date", validators=[Required("Enter the date")])
    deadline_time = ClockField(
        "Deadline for quotes: time (UK time)",
        default="12:00",
        validators=[Required("Enter the time, like 12:00")],
    )
    award_method = RadioField(
        "How the winner is chosen",
        choices=[(m.value, METHOD_TEXT[m]) for m in AwardMethod],
        default=AwardMethod.LOWEST_PRICE.value,
        validators=[Required("Choose how the winner is chosen")],
    )
    price_weight = WholeNumberField("Price weight (%)", default=70, validators=[Optional()])
    quality_weight = WholeNumberField("Quality weight (%)", default=30, validators=[Optional()])
    po_number = StringField(
        "Purchase-order number",
        description="The call-off order to the winner carries it.",
        validators=[Required("Enter your purchase-order number"), Length(max=60)],
    )

    def to_input(self) -> RequestInput:
        return RequestInput(
            school_id=filled(self.school_id.data),
            title=self.title.data or "",
            requirement=self.requirement.data or "",
            quantity=filled(self.quantity.data),
            term_key=self.term_key.data or "",
            deadline_at=london_instant(
                filled(self.deadline_on.data), filled(self.deadline_time.data)
            ),
            award_method=AwardMethod(self.award_method.data),
            price_weight=self.price_weight.data or 0,
            quality_weight=self.quality_weight.data or 0,
            po_number=self.po_number.data or "",
        )


class QuoteForm(FlaskForm):
    unit_price = PoundsField(
        "Your price per unit",
        validators=[Required("Enter your price per unit")],
        allow_zero=False,
    )
    note = TextAreaField(
        "Note to the school (optional)", validators=[Optional(), Length(max=NOTE_MAX)]
    )
    declared_compliant = BooleanField(
        "I confirm this quote meets the requirement and the terms of our framework contract"
    )


class ReasonForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[Required("Give the reason"), Length(max=NOTE_MAX)])


class ScoreForm(FlaskForm):
    score = WholeNumberField(
        "Quality score (0 to 100)", validators=[Required("Enter a score from 0 to 100")]
    )
