"""Forms: a contract's KPI, a provider's quarterly return, closing a committee action."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, ValidationError

from app.forms import Required
from procurement.kpis.rules import (
    DIRECTION_TEXT,
    KIND_TEXT,
    SOURCE_TEXT,
    UNIT_TEXT,
    Direction,
    KpiKind,
    KpiSource,
    KpiUnit,
)
from procurement.kpis.targets import KpiInput


def _refuse_unknown(field: SelectField | RadioField, message: str) -> None:
    """A choice that is not one of the field's own, with a message naming what to choose."""
    if field.data not in {str(choice[0]) for choice in field.choices or []}:
        raise ValidationError(message)


class _Select(SelectField):
    def __init__(
        self, label: str, choices: list[tuple[str, str]], message: str, **kwargs: Any
    ) -> None:
        super().__init__(label, choices=choices, validators=[Required(message)], **kwargs)
        self.message = message

    def pre_validate(self, form: Any) -> None:
        _refuse_unknown(self, self.message)


class _Radios(RadioField):
    def __init__(
        self, label: str, choices: list[tuple[str, str]], message: str, **kwargs: Any
    ) -> None:
        super().__init__(label, choices=choices, validators=[Required(message)], **kwargs)
        self.message = message

    def pre_validate(self, form: Any) -> None:
        _refuse_unknown(self, self.message)


class KpiForm(FlaskForm):
    kind = _Select(
        "What it measures",
        [(k.value, text) for k, text in KIND_TEXT.items()],
        "Choose what the KPI measures",
    )
    name = StringField(
        "Name",
        description="How the KPI reads on the contract, e.g. “Reports sent within 10 days”.",
        validators=[Required("Enter the KPI’s name"), Length(max=200)],
    )
    unit = _Select(
        "Measured as",
        [(u.value, text.capitalize()) for u, text in UNIT_TEXT.items()],
        "Choose the unit the KPI is measured in",
    )
    target = StringField(
        "Target",
        description="A number, like 95 for 95%, 4 for a score of 4 out of 5, or 3 for a count.",
        validators=[Required("Enter the target"), Length(max=20)],
    )
    direction = _Radios(
        "Which way is better?",
        [(d.value, text) for d, text in DIRECTION_TEXT.items()],
        "Choose which way is better",
    )
    source = _Radios(
        "Where the figures come from",
        [(s.value, text) for s, text in SOURCE_TEXT.items()],
        "Choose where the figures come from",
    )

    def to_input(self) -> KpiInput:
        return KpiInput(
            kind=self.kind.data or "",
            name=self.name.data or "",
            unit=self.unit.data or "",
            target=self.target.data or "",
            direction=self.direction.data or "",
            source=self.source.data or "",
        )


DEFAULT_KPI = {
    "kind": KpiKind.CUSTOM.value,
    "unit": KpiUnit.PERCENT.value,
    "direction": Direction.HIGHER.value,
    "source": KpiSource.PROVIDER_RETURN.value,
}


class ReturnForm(FlaskForm):
    value = StringField("Figure", validators=[Required("Enter the figure"), Length(max=20)])
    note = TextAreaField(
        "Note (optional)",
        description="How the figure was worked out, or what is being done about it.",
        validators=[Length(max=2000, message="Keep the note to 2,000 characters")],
    )


class CloseActionForm(FlaskForm):
    note = TextAreaField(
        "What was done",
        description="For example: the provider’s improvement plan, agreed at a review meeting.",
        validators=[
            Required("Say what was done about it"),
            Length(max=2000, message="Keep the note to 2,000 characters"),
        ],
    )
