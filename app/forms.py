"""Forms shared across the app, the pounds field every money input uses, and how a view runs
a use case from a posted form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Field,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import (
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import TextInput

from app.errors import DomainError, refusal_status
from app.models import Role
from app.money import MoneyError, parse_pounds, pence_to_pounds_text

T = TypeVar("T")

# The largest whole number a form takes: every integer column holds it (32-bit), so nothing
# typed can overflow the database.
WHOLE_NUMBER_MAX = 2_147_483_647


class Required(InputRequired):
    """Something must be entered: refuses a blank field, one of only spaces, and a typed field
    (a number, a date, a time, a choice) left without a value, with the field's own message."""

    def __call__(self, form: Any, field: Field) -> None:
        message = self.message or field.gettext("This field is required.")
        raw = field.raw_data[0] if field.raw_data else None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            field.errors = []  # nothing typed: say so, not that it is not a number
            raise StopValidation(message)
        if field.data is None or (isinstance(field.data, str) and not field.data.strip()):
            # Typed but unreadable (e.g. "2.5" for a whole number): the field has said why.
            raise StopValidation("" if field.process_errors else message)


def record_id(value: object) -> int:
    """`coerce` for a choice of records by id: ASCII digits within 32 bits, else ValueError.

    `int` alone takes "-1", other scripts' digits ("٣") and 2**63, which then fail in the
    database; a choice field turns this ValueError into its own "not a valid choice".
    """
    text = str(value).strip() if not isinstance(value, int) else str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or int(text) > WHOLE_NUMBER_MAX:
        raise ValueError(f"not a record id: {text[:20]!r}")
    return int(text)


def filled(value: T | None) -> T:
    """A required field's value once its form has validated (Required has checked it is there)."""
    if value is None:
        raise ValueError("a required form value was read before the form validated")
    return value


def field_errors(form: FlaskForm, name: str | None, message: str) -> None:
    """Put a service's message on the form field it belongs to (or on the form as a whole)."""
    target: Any = getattr(form, name, None) if name else None
    if target is None or isinstance(getattr(target, "errors", None), dict):
        # No such field, or a FieldList/FormField (whose errors are not a list).
        form.form_errors.append(message)
        return
    target.errors = [*target.errors, message]


@dataclass(frozen=True)
class Submission(Generic[T]):
    """What became of a form: `done` with the use case's `result`, or the status to show it with."""

    done: bool
    status: int
    result: T | None = None

    @property
    def value(self) -> T:
        """The use case's result, once `done` (a use case may return None)."""
        if not self.done:
            raise RuntimeError("the form was not done: there is no result to read")
        return cast(T, self.result)


def submit(form: FlaskForm, action: Callable[[], T]) -> Submission[T]:
    """Validate a posted form, then run the use case `action`.

    Done when the use case succeeded (the view then redirects). Otherwise the form is shown
    again: with 200 on a GET, 400 when the form itself is invalid, or the status of the
    DomainError the use case refused with (app.errors.refusal_status), its message put on the
    field it names.
    """
    if not form.validate_on_submit():
        return Submission(False, 400 if request.method == "POST" else 200)
    try:
        result = action()
    except DomainError as exc:
        status = refusal_status(exc)
        field_errors(form, exc.field, exc.message)
        return Submission(False, status)
    return Submission(True, 200, result)


class PoundsField(Field):
    """Money typed in pounds ("1,250.50"); `data` is integer pence (or None when blank)."""

    widget = TextInput()

    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        *,
        allow_zero: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(label, validators, **kwargs)
        self.allow_zero = allow_zero

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return pence_to_pounds_text(self.data) if isinstance(self.data, int) else ""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = parse_pounds(valuelist[0], allow_zero=self.allow_zero)
        except MoneyError as exc:
            self.data = None
            raise ValueError(str(exc)) from exc


class WholeNumberField(IntegerField):
    """A whole number, with a plain-English error for "2.5", "ten" or "-3"."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        text = valuelist[0].strip().replace(",", "")
        digits = text.removeprefix("-")
        if not (digits.isascii() and digits.isdigit()):
            self.data = None
            raise ValueError(f"{self.label.text} must be a whole number, like 5")
        if len(digits) > 10 or abs(int(text)) > WHOLE_NUMBER_MAX:
            self.data = None
            raise ValueError(f"{self.label.text} is too large")
        self.data = int(text)


class RecordChoiceField(SelectField):
    """One record chosen by id from a list; `data` is the id (see `record_id`)."""

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("coerce", record_id)
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(f"{self.label.text}: choose from the list") from None


class RecordChoicesField(SelectMultipleField):
    """Records chosen by id from a list; `data` is the list of ids (see `record_id`)."""

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("coerce", record_id)
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(f"{self.label.text}: choose from the list") from None


class DayField(DateField):
    """A date from the browser's date picker, with a clear message when it is not one."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(f"{self.label.text}: enter a real date, like 2026-09-01") from None


class GrantForm(FlaskForm):
    source = StringField(
        "Who it came from",
        validators=[Required("Enter who the money came from"), Length(max=200)],
    )
    description = StringField("What it is for", validators=[Optional(), Length(max=500)])
    amount = PoundsField(
        "Amount received", validators=[Required("Enter the amount received")], allow_zero=False
    )
    received_on = DayField(
        "Received on", validators=[Required("Enter the date the money was received")]
    )


class LoginForm(FlaskForm):
    email = EmailField(
        "Email address",
        validators=[
            Required("Enter your email address"),
            Length(max=254, message="An email address has 254 characters or fewer"),
        ],
    )
    password = PasswordField("Password", validators=[Required("Enter your password")])


class InviteForm(FlaskForm):
    """Invite someone: they get an email with a link to set their own password."""

    name = StringField(
        "Full name", validators=[Required("Enter the person’s name"), Length(max=200)]
    )
    email = EmailField(
        "Email address",
        validators=[
            Required("Enter an email address"),
            Email("Enter an email address like name@school.org.uk"),
            Length(max=254),
        ],
    )
    role = SelectField("Role", choices=[(r.value, r.label) for r in Role])
    school_id = RecordChoiceField(
        "School (for business managers and heads)", validators=[Optional()]
    )
    provider_id = RecordChoiceField("Provider (for provider users)", validators=[Optional()])
    trust_id = RecordChoiceField("Trust (for trust finance leads)", validators=[Optional()])

    def validate_school_id(self, field: Field) -> None:
        school_roles = (Role.SBM.value, Role.HEAD.value, Role.GOVERNOR.value)
        if self.role.data in school_roles and not field.data:
            raise ValidationError("Choose the school this person works for")

    def validate_trust_id(self, field: Field) -> None:
        if self.role.data == Role.TRUST.value and not field.data:
            raise ValidationError("Choose the trust this person works for")

    def validate_provider_id(self, field: Field) -> None:
        if self.role.data == Role.PROVIDER.value and not field.data:
            raise ValidationError("Choose the provider this person works for")


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        "Email address",
        validators=[Required("Enter your email address"), Length(max=254)],
    )


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        description="At least 10 characters. A few unrelated words make a strong password.",
        validators=[
            Required("Enter a new password"),
            Length(min=10, message="The password must be at least 10 characters"),
            Length(max=200, message="The password must be 200 characters or fewer"),
        ],
    )
    confirm = PasswordField(
        "Type the new password again", validators=[Required("Type the new password again")]
    )

    def validate_confirm(self, field: Field) -> None:
        if field.data != self.password.data:
            raise ValidationError("The passwords do not match")


class GiasUploadForm(FlaskForm):
    file = FileField(
        "GIAS establishment export (CSV)",
        validators=[
            FileRequired("Choose a CSV file to upload"),
            FileAllowed(["csv"], "The file must be a CSV file (.csv)"),
        ],
    )
    la_code = StringField(
        "Only this local authority code (optional)",
        description="Starts as the partnership's own local authority (for example 307 for "
        "Ealing). Clear it to import schools from every local authority in the file.",
        validators=[Optional(), Length(max=10)],
    )


class GiasConfirmForm(FlaskForm):
    """Import the previewed file: its fingerprint, so that exactly that file is imported."""

    sha256 = HiddenField(
        validators=[InputRequired("The preview is missing: upload the file again")]
    )


class MembershipTermForm(FlaskForm):
    start_year = WholeNumberField(
        "Academic year starting in September of",
        validators=[
            Required("Enter the year the academic year starts"),
            NumberRange(2000, 2100, "Enter a year between 2000 and 2100"),
        ],
    )
    rate = PoundsField(
        "Rate per pupil", validators=[Required("Enter the rate per pupil")], allow_zero=False
    )
    cap = PoundsField(
        "Cap per school (optional)",
        description="Leave blank for no cap.",
        validators=[Optional()],
        allow_zero=False,
    )
    council_match_percent = WholeNumberField(
        "Council match (% of each subscription)",
        description="100 means the council matches every pound a school pays.",
        validators=[
            Required("Enter the council match, 0 if none"),
            NumberRange(0, 200, "The council match must be between 0%% and 200%%"),
        ],
    )


class MembershipForm(FlaskForm):
    pupils_counted = WholeNumberField(
        "Pupils counted",
        validators=[
            Required("Enter the pupil count"),
            NumberRange(0, 5000, "Enter a pupil count between 0 and 5,000"),
        ],
    )
    cap = PoundsField("Cap for this school (optional)", validators=[Optional()], allow_zero=False)
    is_member = BooleanField("Member of the partnership")


class ActionForm(FlaskForm):
    """A button that changes something: CSRF only."""


def percent_to_bp(text: str, maximum_bp: int = 10_000) -> int:
    """ "7.5" (or "7.5%") as basis points (750); ValueError unless 0 to the maximum, with up to
    2 decimal places."""
    cleaned = text.strip().removesuffix("%").strip()
    whole, _, fraction = cleaned.partition(".")
    if not (
        whole.isascii()
        and whole.isdigit()
        and len(whole) <= 3
        and (fraction == "" or (fraction.isascii() and fraction.isdigit() and len(fraction) <= 2))
    ):
        raise ValueError("Enter a percentage like 5 or 7.5")
    bp = int(whole) * 100 + int(fraction.ljust(2, "0") or "0")
    if bp > maximum_bp:
        raise ValueError(f"Enter a percentage between 0 and {maximum_bp / 100:g}")
    return bp


class PercentField(Field):
    """A percentage typed as "7.5"; `data` is basis points (750), or None when blank."""

    widget = TextInput()
    data: int | None

    def __init__(
        self, label: str | None = None, validators: Any = None, *, maximum: int = 100, **kw: Any
    ) -> None:
        super().__init__(label, validators, **kw)
        self.maximum_bp = maximum * 100

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return f"{self.data / 100:g}" if isinstance(self.data, int) else ""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = percent_to_bp(valuelist[0], self.maximum_bp)
        except ValueError:
            self.data = None
            raise
