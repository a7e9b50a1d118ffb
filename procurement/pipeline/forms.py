"""The pipeline's forms: a decision on a contract ending, a school's outside contract, and the
button that drafts a joint tender from a group of outside contracts."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from app.forms import DayField, PoundsField, RecordChoiceField, Required, filled
from procurement.pipeline.external import (
    CATEGORY_MAX,
    NOTES_MAX,
    SUPPLIER_MAX,
    ExternalInput,
)
from procurement.pipeline.rules import RenewalChoice
from procurement.pipeline.services import NOTE_MAX

NOT_IN_CATALOGUE = 0


class DecisionForm(FlaskForm):
    choice = RadioField(
        "What happens when the contract ends",
        choices=[(c.value, c.label) for c in RenewalChoice],
        validators=[Required("Choose what happens when the contract ends")],
    )
    note = TextAreaField(
        "Note (optional)",
        description="Why, and anything the next step should know.",
        validators=[Optional(), Length(max=NOTE_MAX)],
    )

    @property
    def chosen(self) -> RenewalChoice:
        return RenewalChoice(filled(self.choice.data))


class ExternalContractForm(FlaskForm):
    school_id = RecordChoiceField("School", validators=[Required("Choose the school")])
    supplier_name = StringField(
        "Supplier",
        validators=[Required("Enter the supplier’s name"), Length(max=SUPPLIER_MAX)],
    )
    service_id = RecordChoiceField(
        "Service",
        description="Choose “Not in the catalogue” and describe it below if none fits.",
        validators=[Required("Choose the service")],
    )
    category = StringField(
        "What the contract is for, if not in the catalogue",
        validators=[Optional(), Length(max=CATEGORY_MAX)],
    )
    annual_value = PoundsField(
        "Annual value (£)", validators=[Required("Enter the annual value in pounds")]
    )
    ends_on = DayField("Contract ends", validators=[Required("Enter the date the contract ends")])
    notes = TextAreaField("Notes (optional)", validators=[Optional(), Length(max=NOTES_MAX)])

    def to_input(self) -> ExternalInput:
        service_id = filled(self.service_id.data)
        return ExternalInput(
            school_id=filled(self.school_id.data),
            supplier_name=self.supplier_name.data or "",
            service_id=None if service_id == NOT_IN_CATALOGUE else service_id,
            category=self.category.data or "",
            annual_value_pence=filled(self.annual_value.data),
            ends_on=filled(self.ends_on.data),
            notes=self.notes.data or "",
        )


class JointTenderForm(FlaskForm):
    """The outside contracts of one candidate group, as "3,8,12"."""

    contracts = HiddenField(validators=[Required("Choose a group of contracts")])

    def contract_ids(self) -> list[int]:
        """The ids posted; an empty list for anything that is not a short list of ids."""
        parts = (self.contracts.data or "").split(",")
        if len(parts) > 200 or not all(p.isascii() and p.isdigit() and len(p) < 10 for p in parts):
            return []
        return [int(p) for p in parts]
