"""Forms for contracts: changes and termination (the committee's), a school's call-off, and the
committee's call-off terms."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, FieldList, RadioField, StringField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import TextInput

from app.forms import (
    DayField,
    PoundsField,
    RecordChoiceField,
    Required,
    WholeNumberField,
    percent_to_bp,
)
from marketplace.orders.drafting import NOTES_MAX, PO_NUMBER_MAX

# --- Amendments and termination ---------------------------------------------------------------

REASON_LENGTH = Length(max=2_000, message="Keep it to 2,000 characters or fewer")


class SignedPercentField(Field):
    """A percentage typed as "3.2" or "-1.5" (a minus sign for a fall); `data` is signed basis
    points (320, -150), or None when blank."""

    widget = TextInput()
    data: int | None

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return f"{self.data / 100:g}" if isinstance(self.data, int) else ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = str(valuelist[0]).strip() if valuelist else ""
        if not text:
            self.data = None
            return
        sign = 1
        if text[0] in "-−":
            sign, text = -1, text[1:]
        elif text[0] == "+":
            text = text[1:]
        try:
            self.data = sign * percent_to_bp(text, maximum_bp=99_999)
        except ValueError:
            self.data = None
            raise ValueError("Enter a percentage like 3.2, or -1.5 for a fall") from None


class PriceList(FieldList):
    """A price per tier; its entries' errors read as one flat list of messages, like a single
    field's (for the error summary and a use case's message)."""

    def validate(self, form: Any, extra_validators: Any = ()) -> bool:
        valid = super().validate(form, extra_validators)
        messages: list[str] = []
        for item in self.errors:
            messages.extend(item if isinstance(item, list | tuple) else [item])
        self.errors = messages
        return valid


class AmendmentForm(FlaskForm):
    """A proposed change; the page shows only the fields of its kind."""

    reason = TextAreaField(
        "Reason for the change",
        validators=[Required("Say why the contract is changed"), REASON_LENGTH],
    )
    effective_on = DayField(
        "Date the change takes effect",
        validators=[Required("Enter the date the change takes effect")],
    )
    percent = SignedPercentField("Change to every price (%)", validators=[Optional()])
    prices = PriceList(
        PoundsField("New price", validators=[Optional()], allow_zero=False), min_entries=0
    )
    new_ends_on = DayField("New end date", validators=[Optional()])
    new_capacity = WholeNumberField("New capacity", validators=[Optional()])


class DecisionNoteForm(FlaskForm):
    note = TextAreaField(
        "Why is the change rejected?",
        validators=[Required("Say why the change is rejected"), REASON_LENGTH],
    )


class TerminationForm(FlaskForm):
    reason = TextAreaField(
        "Reason for the termination",
        validators=[Required("Say why the contract is terminated"), REASON_LENGTH],
    )
    terminated_on = DayField(
        "Date the termination takes effect",
        validators=[Required("Enter the date the termination takes effect")],
    )


class ExtensionLimitForm(FlaskForm):
    allowed_until = DayField(
        "Latest end date an extension may reach",
        validators=[Optional()],
    )


class CallOffForm(FlaskForm):
    """Which school (a trust's finance lead chooses), term, quantity, PO number and notes."""

    # Shown only to a trust's finance lead with more than one school to choose from.
    school_id = RecordChoiceField("Which school?", choices=[], validators=[Optional()])
    # Choices are the terms the contract runs in; the service says why any other is refused.
    term_key = RadioField(
        "Which term?",
        choices=[],
        validate_choice=False,
        validators=[Required("Choose the term you want the service in")],
    )
    quantity = WholeNumberField(
        "How many?", validators=[Required("Enter how many you need, like 5")]
    )
    po_number = StringField(
        "Purchase-order number",
        validators=[
            Required("Enter your purchase-order number"),
            Length(max=PO_NUMBER_MAX, message=f"Keep it to {PO_NUMBER_MAX} characters or fewer"),
        ],
    )
    notes = TextAreaField(
        "Notes for the provider (optional)",
        validators=[
            Optional(),
            Length(max=NOTES_MAX, message=f"Keep notes to {NOTES_MAX:,} characters or fewer"),
        ],
    )


class CallOffTermsForm(FlaskForm):
    """The contract's maximum value (blank: no cap) and whether later joiners may call off."""

    value = PoundsField(
        "Maximum value of call-offs, excluding VAT (£, optional)",
        validators=[Optional()],
        allow_zero=False,
    )
    open_to_new_schools = BooleanField("Schools that join later may call off under this contract")
