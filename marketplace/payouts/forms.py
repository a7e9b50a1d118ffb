"""Forms of payments out: record a payment, delete one, upload and confirm a bank file."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.forms import DayField, PoundsField, RecordChoiceField, Required


class PaymentForm(FlaskForm):
    provider_id = RecordChoiceField("Provider", validators=[Required("Choose the provider paid")])
    paid_on = DayField(
        "Paid on",
        description="The day the transfer left the partnership's account.",
        validators=[Required("Enter the date of the payment")],
    )
    amount = PoundsField(
        "Amount",
        allow_zero=False,
        description="In pounds, like 1250.50.",
        validators=[Required("Enter the amount paid")],
    )
    reference = StringField(
        "Bank reference",
        description="As on the bank statement; each reference is recorded once per provider.",
        validators=[Required("Enter the bank reference"), Length(max=60)],
    )
    note = TextAreaField("Note (optional)", validators=[Optional(), Length(max=500)])


class DeletePaymentForm(FlaskForm):
    reason = StringField("Why delete it (optional)", validators=[Optional(), Length(max=500)])


class BankFileForm(FlaskForm):
    file = FileField(
        "The bank's payments (CSV)",
        validators=[
            FileRequired("Choose a CSV file to upload"),
            FileAllowed(["csv"], "The file must be a CSV file (.csv)"),
        ],
    )


class BankFileConfirmForm(FlaskForm):
    """Import the previewed file: the file itself (base64) and its fingerprint."""

    content = HiddenField(
        validators=[InputRequired("The preview is missing: upload the file again")]
    )
    filename = HiddenField()
    sha256 = HiddenField(
        validators=[InputRequired("The preview is missing: upload the file again")]
    )
