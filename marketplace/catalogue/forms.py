"""The catalogue's forms: choosing offers to compare (a GET form, so no CSRF), and the admin's
forms for a category and a service."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Form, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from app.forms import RecordChoicesField, Required, WholeNumberField
from marketplace.catalogue.models import ServiceKind, Unit, VatTreatment

VAT_LABELS = {
    VatTreatment.STANDARD: "Standard rate (20%)",
    VatTreatment.EXEMPT: "Exempt (education and welfare between eligible bodies)",
    VatTreatment.ZERO: "Zero rate",
    VatTreatment.OUTSIDE_SCOPE: "Outside the scope of VAT",
}


class CategoryForm(FlaskForm):
    slug = StringField(
        "Short name",
        description="Lower-case words joined by hyphens, e.g. speech-language. It names the "
        "category in the services CSV and cannot change later.",
        validators=[Required("Enter a short name"), Length(max=60)],
    )
    name = StringField("Name", validators=[Required("Enter the category’s name"), Length(max=120)])
    description = TextAreaField(
        "Description (optional)",
        description="Words schools may search for, such as other names for the service.",
        validators=[Optional(), Length(max=2000)],
    )


class ServiceForm(FlaskForm):
    slug = StringField(
        "Short name",
        description="Lower-case words joined by hyphens, e.g. counselling-day. It names the "
        "service in the services CSV and cannot change later.",
        validators=[Required("Enter a short name"), Length(max=80)],
    )
    name = StringField("Name", validators=[Required("Enter the service’s name"), Length(max=200)])
    kind = SelectField(
        "Core or traded",
        choices=[
            (ServiceKind.CORE.value, "Core: included in the subscription"),
            (ServiceKind.TRADED.value, "Traded: bought on top"),
        ],
        default=ServiceKind.TRADED.value,
    )
    category = SelectField("Category", validators=[Required("Choose a category")])
    unit = SelectField("Priced per", choices=[(u.value, u.value) for u in Unit])
    vat = SelectField(
        "VAT treatment",
        choices=[(v.value, label) for v, label in VAT_LABELS.items()],
        default=VatTreatment.EXEMPT.value,
    )
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    includes = TextAreaField(
        "What the subscription includes (core services)",
        description="For example: one visit and written report a year for every member school.",
        validators=[Optional(), Length(max=2000)],
    )


class CompareForm(Form):
    """Two to four offers for one service, and the quantity to price them at (optional)."""

    # Offers of another service are refused by the comparison itself, with a named error.
    offer = RecordChoicesField("Offers to compare", validate_choice=False)
    quantity = WholeNumberField("Quantity", validators=[Optional()])
