"""Forms: the application to become a provider, an admin's rejection, a compliance document."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    EmailField,
    RadioField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import Length, Optional, ValidationError

from app.forms import DayField, Required
from app.models import ProviderKind
from marketplace.catalogue import editing
from marketplace.providers.applications import ApplicationInput
from marketplace.providers.rules import ALLOWED_TEXT, DocumentKind


class _KindField(RadioField):
    def pre_validate(self, form: Any) -> None:
        if self.data not in {kind.value for kind in ProviderKind}:
            raise ValidationError("Choose what kind of organisation you are")


class _CategoriesField(SelectMultipleField):
    def pre_validate(self, form: Any) -> None:
        known = {category.slug for category in editing.categories(include_retired=False)}
        if any(value not in known for value in self.data or []):
            raise ValidationError("Choose the services you offer from the list")


KIND_TEXT = {
    ProviderKind.COMPANY: "A company",
    ProviderKind.COUNCIL: "A council service",
    ProviderKind.SCHOOL: "A member school selling to other schools",
    ProviderKind.CHARITY: "A charity",
}


class ApplicationForm(FlaskForm):
    """Become a provider: the organisation, its registration, a contact and what it offers."""

    organisation_name = StringField(
        "Organisation name",
        validators=[Required("Enter your organisation’s name"), Length(max=200)],
    )
    kind = _KindField(
        "What kind of organisation are you?",
        choices=[(k.value, text) for k, text in KIND_TEXT.items()],
        validators=[Required("Choose what kind of organisation you are")],
    )
    address = TextAreaField(
        "Address", validators=[Required("Enter your organisation’s address"), Length(max=1000)]
    )
    company_number = StringField(
        "Companies House number (if you are a company)",
        description="8 characters, like 01234567 or SC123456",
        validators=[Optional(), Length(max=12)],
    )
    charity_number = StringField(
        "Charity number (if you are a charity)",
        description="Like 1123456, SC012345 or NIC100002",
        validators=[Optional(), Length(max=12)],
    )
    contact_name = StringField(
        "Contact name", validators=[Required("Enter the contact’s name"), Length(max=200)]
    )
    contact_email = EmailField(
        "Contact email address",
        description="We will send the answer, and your invitation if approved, here",
        validators=[Required("Enter the contact’s email address"), Length(max=254)],
    )
    contact_phone = TelField(
        "Contact telephone number",
        validators=[Required("Enter a telephone number"), Length(max=30)],
    )
    categories = _CategoriesField(
        "Which services do you offer?",
        description="Choose all that apply",
        choices=lambda: [(c.slug, c.name) for c in editing.categories(include_retired=False)],
        validators=[Required("Choose at least one kind of service you offer")],
    )

    def to_input(self) -> ApplicationInput:
        return ApplicationInput(
            organisation_name=self.organisation_name.data or "",
            kind=self.kind.data or "",
            address=self.address.data or "",
            company_number=self.company_number.data or "",
            charity_number=self.charity_number.data or "",
            contact_name=self.contact_name.data or "",
            contact_email=self.contact_email.data or "",
            contact_phone=self.contact_phone.data or "",
            categories=list(self.categories.data or []),
        )


class RejectionForm(FlaskForm):
    reason = TextAreaField(
        "Reason for rejecting",
        description="The applicant is emailed this",
        validators=[Required("Give the reason: the applicant is emailed it"), Length(max=2000)],
    )


class ComplianceDocumentForm(FlaskForm):
    """A compliance document: its dates and the file."""

    issued_on = DayField("Issued or started on", validators=[Required("Enter the issue date")])
    expires_on = DayField("Expires on", validators=[Required("Enter the date it expires")])
    last_checked_on = DayField("Date of the last DBS check", validators=[Optional()])
    declaration = TextAreaField(
        "Declaration",
        description="Confirm that every member of staff working with children has an enhanced "
        "DBS check, and say how often you renew them",
        validators=[Optional(), Length(max=2000)],
    )
    file = FileField(
        "The document",
        description=f"Upload {ALLOWED_TEXT}, up to 5 MB",
        validators=[FileRequired("Choose the file to upload")],
    )


def document_kind(value: str) -> DocumentKind | None:
    try:
        return DocumentKind(value)
    except ValueError:
        return None
