"""Forms for the supply service and the vacancies board."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from app.forms import DayField, PoundsField, RecordChoiceField, Required, WholeNumberField
from marketplace.supply.cover import NOTES_MAX
from marketplace.supply.models import ContractType, Session
from marketplace.supply.rules import CheckKind, RateUnit, ReleaseMode, SupplyRole, Weighting
from marketplace.supply.timesheets import QUERY_MAX

ROLE_CHOICES = [(r.value, r.label) for r in SupplyRole]
DAY_CHOICES = [("", "Not worked"), ("day", "Full day"), ("half-day", "Half day")]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


class CoverRequestForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[Required("Choose the role")])
    session = RadioField(
        "Full or half days?",
        choices=[(s.value, s.label) for s in Session],
        default=Session.FULL_DAY.value,
        validators=[Required("Choose full days, mornings or afternoons")],
    )
    starts_on = DayField("First day", validators=[Required("Enter the first day of cover")])
    ends_on = DayField(
        "Last day", validators=[Required("Enter the last day (the same for one day)")]
    )
    phase = StringField("Phase (optional)", validators=[Optional(), Length(max=60)])
    subject = StringField("Subject or class (optional)", validators=[Optional(), Length(max=100)])
    notes = TextAreaField(
        "Notes for the agencies (optional)", validators=[Optional(), Length(max=NOTES_MAX)]
    )


class ProposeForm(FlaskForm):
    worker_id = RecordChoiceField(
        "Worker",
        choices=[],
        validate_choice=False,
        validators=[Required("Choose a worker")],
    )
    note = StringField("Note for the school (optional)", validators=[Optional(), Length(max=500)])


class AcceptForm(FlaskForm):
    parity_day_pay = PoundsField(
        "Your own day pay point for this role (optional)",
        description="The pay the worker gets from their 13th week with you (AWR parity).",
        validators=[Optional()],
        allow_zero=False,
    )


class TimesheetForm(FlaskForm):
    week_starting = DayField("Week starting (Monday)", validators=[Required("Enter the Monday")])
    monday = SelectField("Monday", choices=DAY_CHOICES, validators=[Optional()])
    tuesday = SelectField("Tuesday", choices=DAY_CHOICES, validators=[Optional()])
    wednesday = SelectField("Wednesday", choices=DAY_CHOICES, validators=[Optional()])
    thursday = SelectField("Thursday", choices=DAY_CHOICES, validators=[Optional()])
    friday = SelectField("Friday", choices=DAY_CHOICES, validators=[Optional()])


class QueryForm(FlaskForm):
    note = TextAreaField(
        "What is wrong?",
        validators=[
            Required("Say what is wrong, so the agency can correct it"),
            Length(max=QUERY_MAX),
        ],
    )


class HireForm(FlaskForm):
    salary = PoundsField(
        "Annual salary", validators=[Required("Enter the annual salary")], allow_zero=False
    )
    starts_on = DayField("Starts on", validators=[Required("Enter the start date")])
    vacancy_id = RecordChoiceField(
        "From vacancy (optional)",
        choices=[],
        validate_choice=False,
        validators=[Optional()],
    )


class VacancyForm(FlaskForm):
    title = StringField("Job title", validators=[Required("Enter the job title"), Length(max=200)])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[Required("Choose the role")])
    contract_type = SelectField(
        "Contract",
        choices=[(c.value, c.label) for c in ContractType],
        validators=[Required("Choose the contract")],
    )
    phase = StringField("Phase (optional)", validators=[Optional(), Length(max=60)])
    subject = StringField("Subject (optional)", validators=[Optional(), Length(max=100)])
    salary_min = PoundsField(
        "Salary from", validators=[Required("Enter the lowest salary")], allow_zero=False
    )
    salary_max = PoundsField(
        "Salary to", validators=[Required("Enter the highest salary")], allow_zero=False
    )
    closing_on = DayField("Closing date", validators=[Required("Enter the closing date")])
    description = TextAreaField(
        "Description", validators=[Required("Describe the job"), Length(max=10_000)]
    )
    documents = TextAreaField(
        "Links (optional)",
        description="Links to the job description and application pack, one per line.",
        validators=[Optional(), Length(max=2_000)],
    )
    files = MultipleFileField("Job description and application pack (optional)")
    # Shown to a trust's finance lead, who posts for any of the trust's schools.
    school_id = RecordChoiceField("School", validators=[Optional()])


class WorkerForm(FlaskForm):
    name = StringField(
        "Full name", validators=[Required("Enter the worker's name"), Length(max=200)]
    )
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[Required("Choose the role")])
    trn = StringField(
        "Teacher reference number (teachers)", validators=[Optional(), Length(max=20)]
    )


class CheckForm(FlaskForm):
    kind = SelectField(
        "Check",
        choices=[(k.value, k.label) for k in CheckKind],
        validators=[Required("Choose the check")],
    )
    checked_on = DayField("Date of the check", validators=[Required("Enter the date of the check")])
    expires_on = DayField("Expires on", validators=[Required("Enter when it expires")])
    reference = StringField(
        "Certificate or reference number (optional)", validators=[Optional(), Length(max=100)]
    )


# Setting the service up (the partnership) ------------------------------------------------------


def _percent(label: str, required: str, default: int) -> WholeNumberField:
    return WholeNumberField(
        label,
        validators=[Required(required), NumberRange(0, 100, "Enter a percentage from 0 to 100")],
        default=default,
    )


def _count(label: str, required: str, top: int, default: int) -> WholeNumberField:
    return WholeNumberField(
        label,
        validators=[Required(required), NumberRange(0, top, f"Enter a number from 0 to {top}")],
        default=default,
    )


class ContractForm(FlaskForm):
    title = StringField(
        "Title", validators=[Required("Give the contract a title"), Length(max=200)]
    )
    reference = StringField(
        "Reference (optional)",
        description="The awarded contract's reference in the partnership's register.",
        validators=[Optional(), Length(max=80)],
    )
    starts_on = DayField("Starts on", validators=[Required("Enter the start date")])
    ends_on = DayField("Ends on", validators=[Required("Enter the end date")])
    release_mode = RadioField(
        "How agencies see a request",
        choices=[(m.value, m.label) for m in ReleaseMode],
        default=ReleaseMode.ALL_AT_ONCE.value,
        validators=[Required("Choose how agencies see a request")],
    )
    release_window_hours = _count(
        "Each agency's window in ranked order (hours)",
        "Enter each agency's window, 0 if all at once",
        168,
        default=1,
    )
    fill_by_hours = _count(
        "Flag a request not filled this many hours before 08:00 on its first day",
        "Enter the hours, 0 to flag only once the day starts",
        720,
        default=12,
    )
    cancellation_notice_hours = _count(
        "Cancellation notice (hours before the first day)",
        "Enter the notice in hours",
        720,
        default=24,
    )
    cancellation_fee_percent = _percent(
        "Cancellation fee within the notice (% of the first day's charge)",
        "Enter the cancellation fee, 0 if none",
        default=100,
    )
    introduced_fee_percent = _percent(
        "Agency fee for a worker the school introduced (% of the card's fee)",
        "Enter the introduced-worker fee share",
        default=50,
    )
    temp_to_perm_free_after_weeks = _count(
        "No temp-to-perm fee after this many weeks' engagement",
        "Enter the weeks",
        104,
        default=12,
    )
    temp_to_perm_max_fee_percent = _percent(
        "Temp-to-perm fee in the first week (% of annual salary, less each week)",
        "Enter the largest temp-to-perm fee, 0 if none",
        default=20,
    )


class AgencyForm(FlaskForm):
    provider_id = RecordChoiceField("Agency", validators=[Required("Choose an agency")])
    rank = _count("Release rank (1 sees requests first)", "Enter the rank", 99, default=1)


class RateForm(FlaskForm):
    provider_id = RecordChoiceField("Agency", validators=[Required("Choose an agency")])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[Required("Choose the role")])
    unit = RadioField(
        "Unit",
        choices=[(u.value, u.label) for u in RateUnit],
        default=RateUnit.DAY.value,
        validators=[Required("Choose day or half day")],
    )
    weighting = SelectField(
        "London weighting",
        choices=[(w.value, w.label) for w in Weighting],
        validators=[Required("Choose the weighting")],
    )
    pay = PoundsField(
        "Worker's pay", validators=[Required("Enter the worker's pay rate")], allow_zero=False
    )
    ni = PoundsField(
        "Employer's National Insurance", validators=[Required("Enter the NI, 0 if none")]
    )
    pension = PoundsField("Pension", validators=[Required("Enter the pension, 0 if none")])
    holiday = PoundsField("Holiday pay", validators=[Required("Enter the holiday pay, 0 if none")])
    fee = PoundsField("Agency fee", validators=[Required("Enter the agency fee, 0 if none")])


class BaselineForm(FlaskForm):
    school_id = RecordChoiceField("School", validators=[Required("Choose the school")])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[Required("Choose the role")])
    day_charge = PoundsField(
        "Day charge paid before the contract",
        validators=[Required("Enter the day charge the school paid before")],
        allow_zero=False,
    )
