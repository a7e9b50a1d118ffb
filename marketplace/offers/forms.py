"""Forms of the provider portal: an offer with its tiers, capacity and rules."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional, ValidationError
from wtforms.widgets import TextInput

from app.forms import (
    DayField,
    PoundsField,
    RecordChoiceField,
    Required,
    WholeNumberField,
    field_errors,
    filled,
)
from marketplace.offers.pricing import Tier
from marketplace.offers.services import MAX_TIERS, OfferInput


class PercentField(Field):
    """A percentage typed like "10" or "12.5"; `data` is basis points (1,000 = 10%)."""

    widget = TextInput()

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return f"{self.data / 100:g}" if isinstance(self.data, int) else ""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        text = valuelist[0].strip().rstrip("%").strip()
        try:
            value = Decimal(text)
        except InvalidOperation:
            self.data = None
            raise ValueError(f"{self.label.text} must be a number, like 10 or 12.5") from None
        if not value.is_finite() or not 0 <= value <= 100:
            self.data = None
            raise ValueError(f"{self.label.text} must be between 0 and 100")
        basis_points = value * 100
        if basis_points != basis_points.to_integral_value():
            self.data = None
            raise ValueError(f"{self.label.text} can have at most two decimal places")
        self.data = int(basis_points)


class TierForm(Form):
    min_quantity = WholeNumberField("From quantity", validators=[Optional()])
    unit_price = PoundsField("Price per unit", validators=[Optional()])
    non_member_price = PoundsField("Non-member price per unit", validators=[Optional()])


class CapacityForm(Form):
    term_key = HiddenField()
    capacity = WholeNumberField("Capacity", validators=[Optional()])


class OfferForm(FlaskForm):
    service_id = RecordChoiceField(
        "Service", validators=[Required("Choose a service from the catalogue")]
    )
    title = StringField(
        "Title",
        description="What schools see, e.g. “Counselling days”.",
        validators=[Required("Enter a title for the offer"), Length(max=200)],
    )
    description = TextAreaField("Description (optional)", validators=[Optional()])
    valid_from = DayField(
        "Available from", validators=[Required("Enter the date the offer starts")]
    )
    valid_to = DayField("Available until", validators=[Required("Enter the date it ends")])
    lead_time_days = WholeNumberField(
        "Lead time (working days)",
        description="Working days between an order and the earliest start.",
        default=10,
        validators=[Required("Enter the lead time, 0 if none")],
    )
    notice_days = WholeNumberField(
        "Notice to cancel a confirmed order (days)",
        description="0 if a school can cancel at any time before delivery.",
        default=0,
        validators=[Required("Enter the notice period, 0 if none")],
    )
    cancellation_charge = PercentField(
        "Admin charge on cancellation (%)",
        description="Kept from the refund when a confirmed order is cancelled.",
        default=0,
        validators=[Required("Enter the admin charge, 0 if none")],
    )
    notice_rules = TextAreaField(
        "Notice and cancellation rules, in your words (optional)", validators=[Optional()]
    )
    min_quantity = WholeNumberField(
        "Minimum order", default=1, validators=[Required("Enter the minimum order, like 1")]
    )
    setup = PoundsField("One-off set-up charge per order (optional)", validators=[Optional()])
    non_member_uplift = PercentField(
        "Extra for schools that are not members (%, optional)",
        description="Your prices above are member prices. A school that is not a member this "
        "academic year pays each price plus this share, rounded to the penny — or give your own "
        "non-member price for each band in the table instead. Leave both blank for the same "
        "price. Core services are for members only.",
        validators=[Optional()],
    )
    areas = SelectMultipleField(
        "Areas served",
        description="Leave all unticked to serve the whole partnership.",
        choices=[],
        validate_choice=False,
    )
    excluded_school_urns = StringField(
        "Schools you do not serve (optional)",
        description="Their URNs, separated by commas or spaces.",
        validators=[Optional()],
    )
    tiers = FieldList(FormField(TierForm), min_entries=4, max_entries=MAX_TIERS)
    capacities = FieldList(FormField(CapacityForm))

    def validate_service_id(self, field: SelectField) -> None:
        if not field.data:
            raise ValidationError("Choose a service from the catalogue")

    def validate(self, extra_validators: Any = None) -> bool:
        """Validate, then list price-band and capacity errors as plain messages."""
        valid = super().validate(extra_validators)
        for field_list in (self.tiers, self.capacities):
            messages: list[str] = []
            for entry in field_list.entries:
                for name, errors in entry.form.errors.items():
                    messages.extend(errors if name != "term_key" else ["Unknown term"])
            field_list.errors = messages[:1] if messages else []
        return valid

    def to_input(self) -> OfferInput | None:
        """The offer as typed, or None after adding a message to the field at fault."""
        tiers: list[Tier] = []
        non_member: list[Tier] = []
        for entry in self.tiers:
            start, price = entry.form.min_quantity.data, entry.form.unit_price.data
            non_member_price = entry.form.non_member_price.data
            if start is None and price is None and non_member_price is None:
                continue
            if start is None or price is None:
                field_errors(
                    self,
                    "tiers",
                    "Enter both the starting quantity and the price for each price band",
                )
                return None
            tiers.append(Tier(start, price))
            if non_member_price is not None:
                non_member.append(Tier(start, non_member_price))
        capacities: dict[str, int] = {}
        for row in self.capacities:
            if row.form.capacity.data is not None:
                capacities[row.form.term_key.data or ""] = row.form.capacity.data
        urns: list[int] = []
        for token in re.split(r"[\s,;]+", self.excluded_school_urns.data or ""):
            if not token:
                continue
            if not (token.isascii() and token.isdigit() and len(token) <= 7):
                field_errors(
                    self,
                    "excluded_school_urns",
                    f"“{token}” is not a URN: URNs are six-digit numbers like 101899",
                )
                return None
            urns.append(int(token))
        return OfferInput(
            service_id=self.service_id.data,
            title=self.title.data or "",
            description=self.description.data or "",
            valid_from=filled(self.valid_from.data),
            valid_to=filled(self.valid_to.data),
            lead_time_days=filled(self.lead_time_days.data),
            notice_days=filled(self.notice_days.data),
            cancellation_charge_bp=self.cancellation_charge.data,
            notice_rules=self.notice_rules.data or "",
            areas=list(self.areas.data or []),
            excluded_school_urns=urns,
            min_quantity=filled(self.min_quantity.data),
            setup_pence=self.setup.data or 0,
            non_member_uplift_bp=self.non_member_uplift.data or 0,
            tiers=tiers,
            non_member_tiers=non_member,
            capacities=capacities,
        )
