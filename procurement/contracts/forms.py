"""Forms for contracts: a school's call-off, and the committee's call-off terms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from app.forms import PoundsField, RecordChoiceField, Required, WholeNumberField
from marketplace.orders.drafting import NOTES_MAX, PO_NUMBER_MAX


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
