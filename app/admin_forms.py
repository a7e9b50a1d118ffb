"""The office's forms for setting up the partnership: its settings, a provider organisation
and the provider's people (app.admin)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import Email, Length, Optional

from app.forms import PercentField, PoundsField, RecordChoiceField, Required, WholeNumberField


class PartnershipSettingsForm(FlaskForm):
    """The partnership's own details: on invoices, and the defaults for a new year."""

    name = StringField(
        "Partnership name",
        validators=[Required("Enter the partnership’s name"), Length(max=200)],
    )
    vat_number = StringField(
        "VAT registration number (optional)",
        description="For example GB 123 4567 89. Leave blank if the partnership is not registered.",
        validators=[Optional(), Length(max=30)],
    )
    address = TextAreaField(
        "Address for invoices",
        description="One line per line, as it should be printed.",
        validators=[Optional(), Length(max=1000)],
    )
    fee_percent = PercentField(
        "Partnership fee on traded services (%)",
        description="Kept from what providers are paid, for example 5 or 7.5.",
        validators=[Required("Enter the fee, 0 if none")],
    )
    provider_payment_days = WholeNumberField(
        "Days to pay providers",
        description="Each delivered order or timesheet is paid this many days after the end of "
        "the month it was delivered in, for example 30; unpaid after that, it is overdue.",
        validators=[Required("Enter the days to pay providers, 0 for the end of the month")],
    )
    default_rate = PoundsField(
        "Rate per pupil for a new academic year",
        validators=[Required("Enter the rate per pupil, 0 if none")],
    )
    default_cap = PoundsField(
        "Cap per school for a new academic year (optional)",
        description="Leave blank for no cap.",
        validators=[Optional()],
        allow_zero=False,
    )
    default_council_match = PercentField(
        "Council match for a new academic year (% of each subscription)",
        description="100 means the council matches every pound a school pays.",
        validators=[Required("Enter the council match, 0 if none")],
        maximum=200,
    )
    account_name = StringField(
        "Bank account name (optional)", validators=[Optional(), Length(max=100)]
    )
    sort_code = StringField(
        "Sort code (optional)",
        description="6 digits, for example 30-94-57.",
        validators=[Optional(), Length(max=20)],
    )
    account_number = StringField(
        "Account number (optional)",
        description="8 digits.",
        validators=[Optional(), Length(max=20)],
    )


class ProviderForm(FlaskForm):
    """A provider organisation the admin adds."""

    name = StringField(
        "Organisation name", validators=[Required("Enter the provider’s name"), Length(max=200)]
    )
    kind = SelectField("What kind of organisation", choices=[], default="company")
    school_id = RecordChoiceField(
        "School (for a school selling to others)", validators=[Optional()]
    )
    contact_email = EmailField(
        "Contact email address (optional)",
        validators=[
            Optional(),
            Email("Enter an email address like office@provider.co.uk"),
            Length(max=254),
        ],
    )
    description = TextAreaField(
        "What it offers (optional)", validators=[Optional(), Length(max=2000)]
    )


class ProviderInviteForm(FlaskForm):
    """Invite one of a provider's people: they set their own password from the email."""

    name = StringField(
        "Full name", validators=[Required("Enter the person’s name"), Length(max=200)]
    )
    email = EmailField(
        "Email address",
        validators=[
            Required("Enter an email address"),
            Email("Enter an email address like name@provider.co.uk"),
            Length(max=254),
        ],
    )
