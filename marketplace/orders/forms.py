"""Forms for ordering and running orders."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from app.forms import Required, WholeNumberField
from marketplace.orders.decisions import REASON_MAX
from marketplace.orders.drafting import NOTES_MAX, PO_NUMBER_MAX


class BasketLineForm(FlaskForm):
    """An offer's term and quantity: the order form's first half, all the basket needs."""

    # Choices are the offer's orderable terms; the service says why any other term is refused.
    term_key = RadioField(
        "Which term?",
        choices=[],
        validate_choice=False,
        validators=[Required("Choose the term you want the service in")],
    )
    quantity = WholeNumberField(
        "How many?", validators=[Required("Enter how many you need, like 5")]
    )


class OrderForm(BasketLineForm):
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


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        "Reason",
        validators=[
            Optional(),
            Length(max=REASON_MAX, message=f"Keep it to {REASON_MAX} characters or fewer"),
        ],
    )


class PoNumberForm(FlaskForm):
    po_number = StringField(
        "Your purchase-order number",
        validators=[
            Required("Enter your purchase-order number"),
            Length(max=PO_NUMBER_MAX, message=f"Keep it to {PO_NUMBER_MAX} characters or fewer"),
        ],
    )


class QuantityForm(FlaskForm):
    """A basket line's new quantity (each line's form has its own prefix)."""

    quantity = WholeNumberField(
        "Quantity", validators=[Required("Enter how many you need, like 5")]
    )


class CheckoutForm(PoNumberForm):
    """The basket's one purchase-order number, and the basket as the school checked it."""

    basket_check = HiddenField()


class ApprovalChainForm(FlaskForm):
    """A school's approval chain in whole pounds (marketplace.orders.rules.chain_problems)."""

    threshold = WholeNumberField(
        "Orders need no approval up to (£)",
        validators=[Required("Enter the amount orders need no approval up to, in whole pounds")],
    )
    second = WholeNumberField(
        "A second approver must approve orders over (£)", validators=[Optional()]
    )
