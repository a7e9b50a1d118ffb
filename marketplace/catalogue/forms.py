"""The catalogue's forms: choosing offers to compare (a GET form, so no CSRF)."""

from __future__ import annotations

from wtforms import Form
from wtforms.validators import Optional

from app.forms import RecordChoicesField, WholeNumberField


class CompareForm(Form):
    """Two to four offers for one service, and the quantity to price them at (optional)."""

    # Offers of another service are refused by the comparison itself, with a named error.
    offer = RecordChoicesField("Offers to compare", validate_choice=False)
    quantity = WholeNumberField("Quantity", validators=[Optional()])
