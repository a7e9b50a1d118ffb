"""Forms for the supply service and the vacancies board."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from app.forms import DayField, PoundsField, Required
from marketplace.supply.cover import NOTES_MAX
from marketplace.supply.models import ContractType, Session
from marketplace.supply.rules import CheckKind, SupplyRole
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
    worker_id = SelectField(
        "Worker",
        coerce=int,
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
    vacancy_id = SelectField(
        "From vacancy (optional)",
        coerce=int,
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
        "Documents (optional)",
        description="Links to the job description and application pack, one per line.",
        validators=[Optional(), Length(max=2_000)],
    )


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
