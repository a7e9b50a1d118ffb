"""The finance-code form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from marketplace.documents.codes import MAX_LENGTH

TOO_LONG = f"A finance code must be {MAX_LENGTH} characters or fewer"


class FinanceCodeForm(FlaskForm):
    code = StringField(
        "Finance code",
        validators=[
            Length(
                max=MAX_LENGTH, message=f"A finance code must be {MAX_LENGTH} characters or fewer"
            )
        ],
    )
