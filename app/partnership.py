"""The partnership's own settings (one row): who invoices come from, where schools pay, its fee
on traded services and the defaults for a new academic year.

Until the row exists (a database made before it, or a test), the app's config stands in
(PARTNERSHIP_NAME, PARTNERSHIP_ADDRESS, PARTNERSHIP_VAT_NUMBER, PARTNERSHIP_FEE_BP,
PROVIDER_PAYMENT_DAYS); the config
is otherwise only the default the row is created with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app import audit
from app.errors import Conflict, DomainError
from app.extensions import db
from app.models import PartnershipSettings, User
from app.use_case import use_case


class SettingsError(DomainError):
    code = "partnership_settings_invalid"


# --- Pure checks: each takes what was typed and returns it as stored, or raises SettingsError.

_VAT = re.compile(r"^(?:GB)?([0-9]{9}|[0-9]{12}|GD[0-9]{3}|HA[0-9]{3})$")


def normalise_vat_number(text: str) -> str:
    """A UK VAT number as printed: "GB 123 4567 89" (9 digits), "GB 123 4567 89 012" (a
    branch), "GBGD001"/"GBHA599" (government departments, health authorities); blank stays
    blank (not VAT registered)."""
    compact = re.sub(r"[\s.-]", "", text.upper())
    if not compact:
        return ""
    found = _VAT.match(compact)
    if found is None:
        raise SettingsError(
            "Enter a UK VAT number like GB 123 4567 89, or leave it blank.", field="vat_number"
        )
    number = found.group(1)
    if number[:2] in ("GD", "HA"):
        return "GB" + number
    grouped = f"GB {number[:3]} {number[3:7]} {number[7:9]}"
    return grouped + (f" {number[9:]}" if len(number) == 12 else "")


def normalise_sort_code(text: str) -> str:
    """Six digits, printed 12-34-56; blank stays blank."""
    digits = re.sub(r"[\s-]", "", text)
    if not digits:
        return ""
    if not (digits.isascii() and digits.isdigit() and len(digits) == 6):
        raise SettingsError("Enter a sort code of 6 digits, like 30-94-57.", field="sort_code")
    return f"{digits[:2]}-{digits[2:4]}-{digits[4:]}"


def normalise_account_number(text: str) -> str:
    """Eight digits (spaces ignored); blank stays blank."""
    digits = re.sub(r"\s", "", text)
    if not digits:
        return ""
    if not (digits.isascii() and digits.isdigit() and len(digits) == 8):
        raise SettingsError(
            "Enter an account number of 8 digits, like 00012345.", field="account_number"
        )
    return digits


@dataclass(frozen=True)
class SettingsInput:
    """What the settings page (or `flask setup`, or the demo seed) asks for."""

    name: str
    vat_number: str = ""
    address: str = ""
    fee_bp: int = 500
    default_rate_per_pupil_pence: int = 0
    default_cap_pence: int | None = None
    default_council_match_bp: int = 10_000
    bank_account_name: str = ""
    bank_sort_code: str = ""
    bank_account_number: str = ""
    provider_payment_days: int = 30


def checked(values: SettingsInput) -> dict[str, Any]:
    """The columns to store, every value checked; SettingsError names the first bad one."""
    name = " ".join(values.name.split())
    if not name:
        raise SettingsError("Enter the partnership’s name.", field="name")
    if len(name) > 200:
        raise SettingsError("The name must be 200 characters or fewer.", field="name")
    if not 0 <= values.fee_bp <= 10_000:
        raise SettingsError("The fee must be between 0% and 100%.", field="fee_percent")
    if values.default_rate_per_pupil_pence < 0:
        raise SettingsError("The rate per pupil cannot be negative.", field="default_rate")
    if values.default_cap_pence is not None and values.default_cap_pence <= 0:
        raise SettingsError("A cap must be more than £0, or left blank.", field="default_cap")
    if not 0 <= values.default_council_match_bp <= 20_000:
        raise SettingsError(
            "The council match must be between 0% and 200%.", field="default_council_match"
        )
    account_name = " ".join(values.bank_account_name.split())
    sort_code = normalise_sort_code(values.bank_sort_code)
    account_number = normalise_account_number(values.bank_account_number)
    bank = (account_name, sort_code, account_number)
    if any(bank) and not all(bank):
        missing = "account name" if not account_name else "sort code" if not sort_code else None
        field = {"account name": "account_name", "sort code": "sort_code"}.get(
            missing or "", "account_number"
        )
        raise SettingsError(
            "Enter the account name, sort code and account number together, or none of them.",
            field=field,
        )
    if len(account_name) > 100:
        raise SettingsError(
            "The account name must be 100 characters or fewer.", field="account_name"
        )
    if not 0 <= values.provider_payment_days <= 365:
        raise SettingsError(
            "The days to pay providers must be between 0 and 365.", field="provider_payment_days"
        )
    address = "\n".join(line.strip() for line in values.address.splitlines() if line.strip())
    return {
        "name": name,
        "vat_number": normalise_vat_number(values.vat_number),
        "address": address,
        "fee_bp": values.fee_bp,
        "default_rate_per_pupil_pence": values.default_rate_per_pupil_pence,
        "default_cap_pence": values.default_cap_pence,
        "default_council_match_bp": values.default_council_match_bp,
        "bank_account_name": account_name,
        "bank_sort_code": sort_code,
        "bank_account_number": account_number,
        "provider_payment_days": values.provider_payment_days,
    }


# --- Reading: the row, or the config standing in for it.


@dataclass(frozen=True)
class PartnershipDetails:
    """Who the partnership is, for pages, emails and documents."""

    name: str
    address_lines: tuple[str, ...]
    vat_number: str
    fee_bp: int
    bank_account_name: str = ""
    bank_sort_code: str = ""
    bank_account_number: str = ""
    provider_payment_days: int = 30

    @property
    def has_bank_details(self) -> bool:
        return bool(self.bank_sort_code and self.bank_account_number)


def current_settings() -> PartnershipSettings | None:
    return db.session.scalar(sa.select(PartnershipSettings).order_by(PartnershipSettings.id))


def _from_config() -> PartnershipDetails:
    config = current_app.config
    return PartnershipDetails(
        name=config["PARTNERSHIP_NAME"],
        address_lines=tuple(
            line.strip() for line in config["PARTNERSHIP_ADDRESS"].split("|") if line.strip()
        ),
        vat_number=config["PARTNERSHIP_VAT_NUMBER"],
        fee_bp=int(config.get("PARTNERSHIP_FEE_BP", 500)),
        provider_payment_days=int(config.get("PROVIDER_PAYMENT_DAYS", 30)),
    )


def details() -> PartnershipDetails:
    """The settings row as details, else the config's."""
    row = current_settings()
    if row is None:
        return _from_config()
    return PartnershipDetails(
        name=row.name,
        address_lines=tuple(row.address_lines),
        vat_number=row.vat_number,
        fee_bp=row.fee_bp,
        bank_account_name=row.bank_account_name,
        bank_sort_code=row.bank_sort_code,
        bank_account_number=row.bank_account_number,
        provider_payment_days=row.provider_payment_days,
    )


def config_defaults(name: str) -> SettingsInput:
    """A new settings row's values: the name given, everything else from the config."""
    config = current_app.config
    return SettingsInput(
        name=name,
        vat_number="",
        address="",
        fee_bp=int(config.get("PARTNERSHIP_FEE_BP", 500)),
        provider_payment_days=int(config.get("PROVIDER_PAYMENT_DAYS", 30)),
    )


# --- Use cases


def _snapshot(row: PartnershipSettings) -> dict[str, Any]:
    return {
        "name": row.name,
        "vat_number": row.vat_number,
        "address": row.address,
        "fee_bp": row.fee_bp,
        "default_rate_per_pupil_pence": row.default_rate_per_pupil_pence,
        "default_cap_pence": row.default_cap_pence,
        "default_council_match_bp": row.default_council_match_bp,
        "bank_account_name": row.bank_account_name,
        "bank_sort_code": row.bank_sort_code,
        "bank_account_number": row.bank_account_number,
        "provider_payment_days": row.provider_payment_days,
    }


def create_row(values: SettingsInput, actor: User | None) -> PartnershipSettings:
    if current_settings() is not None:
        raise Conflict("The partnership is already set up: change its settings instead.")
    row = PartnershipSettings(**checked(values))
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "partnership", row.id, "created", after=_snapshot(row), scope="partnership")
    return row


@use_case
def create_settings(values: SettingsInput, actor: User | None = None) -> PartnershipSettings:
    """Make the partnership's settings row (once)."""
    row = create_row(values, actor)
    db.session.commit()
    return row


@use_case
def save_settings(values: SettingsInput, actor: User) -> PartnershipSettings:
    """Change the partnership's settings (made from the config's if there were none)."""
    row = current_settings()
    if row is None:
        row = create_row(values, actor)
        db.session.commit()
        return row
    before = _snapshot(row)
    for column, value in checked(values).items():
        setattr(row, column, value)
    db.session.flush()
    audit.record(
        actor,
        "partnership",
        row.id,
        "saved",
        before=before,
        after=_snapshot(row),
        scope="partnership",
    )
    db.session.commit()
    return row
