"""People, organisations, membership and the audit trail."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import Model
from app.time import utcnow
from app.types import UTCDateTime


def enum_column(enum: type[StrEnum], length: int = 30, **kwargs: Any) -> Any:
    """A StrEnum stored by value as a plain string with a CHECK of the allowed values."""
    return mapped_column(
        sa.Enum(
            enum,
            native_enum=False,
            length=length,
            values_callable=lambda e: [m.value for m in e],
            validate_strings=True,
            create_constraint=True,
            name=f"{enum.__name__.lower()}",
        ),
        **kwargs,
    )


class Role(StrEnum):
    ADMIN = "admin"
    COMMITTEE = "committee"
    SBM = "sbm"
    HEAD = "head"
    PROVIDER = "provider"
    # A multi-academy trust's finance lead (CFO or trust business manager): sees and approves
    # for every school of the trust.
    TRUST = "trust"
    # A school's second approver (such as the chair of governors): approves orders over the
    # second step of the school's approval chain.
    GOVERNOR = "governor"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMIN: "Partnership admin",
    Role.COMMITTEE: "Committee member",
    Role.SBM: "School business manager",
    Role.HEAD: "Budget holder (head)",
    Role.PROVIDER: "Provider",
    Role.TRUST: "Trust finance lead (CFO)",
    Role.GOVERNOR: "Second approver (chair of governors)",
}
SCHOOL_ROLES = frozenset({Role.SBM, Role.HEAD})
# People who may approve a school's orders: the school's own approvers and its trust's.
APPROVER_ROLES = frozenset({Role.HEAD, Role.GOVERNOR, Role.TRUST})
PARTNERSHIP_ROLES = frozenset({Role.ADMIN, Role.COMMITTEE})


class Trust(Model):
    """A multi-academy trust: a group of schools with one finance lead, perhaps invoiced once."""

    __tablename__ = "trusts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # The trust's GIAS group code ("Trusts (code)"), e.g. 16780.
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    # One invoice per billing period for all the trust's schools, with lines per school.
    invoice_once: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Where a trust invoiced once is billed: its finance email (Stripe sends the invoice
    # there) and postal address (printed on the invoice).
    finance_email: Mapped[str] = mapped_column(sa.String(254), default="", server_default="")
    address: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    schools: Mapped[list[School]] = relationship(back_populates="trust", order_by="School.name")

    def __repr__(self) -> str:
        return f"<Trust {self.code} {self.name}>"


class School(Model):
    __tablename__ = "schools"
    __table_args__ = (
        sa.CheckConstraint(
            "second_approval_pence IS NULL OR second_approval_pence >= approval_threshold_pence",
            name="approval_chain_in_order",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    urn: Mapped[int] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    phase: Mapped[str] = mapped_column(sa.String(60), default="")
    type_name: Mapped[str] = mapped_column(sa.String(120), default="")
    la_code: Mapped[str] = mapped_column(sa.String(10), default="", index=True)
    la_name: Mapped[str] = mapped_column(sa.String(100), default="")
    pupils: Mapped[int | None]
    fsm_percent: Mapped[float | None]
    postcode: Mapped[str] = mapped_column(sa.String(12), default="")
    town: Mapped[str] = mapped_column(sa.String(100), default="")
    area: Mapped[str] = mapped_column(sa.String(60), default="", index=True)
    status: Mapped[str] = mapped_column(sa.String(60), default="Open")
    # Imported with no pupil count: the subscription needs one before it can be billed.
    needs_pupil_count: Mapped[bool] = mapped_column(default=False)
    is_member: Mapped[bool] = mapped_column(default=False)
    # The school's approval chain (marketplace.orders.rules.approvals_needed): orders up to
    # approval_threshold_pence need no approval; above it the head approves; above
    # second_approval_pence (when set) a second approver must approve as well.
    approval_threshold_pence: Mapped[int] = mapped_column(default=500_000)
    second_approval_pence: Mapped[int | None]
    trust_id: Mapped[int | None] = mapped_column(sa.ForeignKey("trusts.id"), index=True)
    finance_email: Mapped[str] = mapped_column(sa.String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="school")
    trust: Mapped[Trust | None] = relationship(back_populates="schools")

    def __repr__(self) -> str:
        return f"<School {self.urn} {self.name}>"


class ProviderKind(StrEnum):
    COMPANY = "company"
    COUNCIL = "council"
    SCHOOL = "school"
    CHARITY = "charity"


class Provider(Model):
    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[ProviderKind] = enum_column(ProviderKind, default=ProviderKind.COMPANY)
    # A school selling to others (a school-led hub) is also a provider.
    school_id: Mapped[int | None] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    contact_email: Mapped[str] = mapped_column(sa.String(254), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    school: Mapped[School | None] = relationship()

    def __repr__(self) -> str:
        return f"<Provider {self.id} {self.name}>"


class User(UserMixin, Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "(role NOT IN ('sbm', 'head', 'governor')) OR school_id IS NOT NULL",
            name="school_role_has_school",
        ),
        sa.CheckConstraint(
            "(role <> 'trust') OR trust_id IS NOT NULL", name="trust_role_has_trust"
        ),
        sa.CheckConstraint(
            "(role <> 'provider') OR provider_id IS NOT NULL", name="provider_role_has_provider"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[Role] = enum_column(Role)
    school_id: Mapped[int | None] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    provider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    trust_id: Mapped[int | None] = mapped_column(sa.ForeignKey("trusts.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Invited by email and not yet set a password (the invitation link sets it).
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of every session cookie's user id: raising it ends every session the user has
    # (signing out, a new password, deactivation).
    session_version: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))

    school: Mapped[School | None] = relationship()
    provider: Mapped[Provider | None] = relationship()
    trust: Mapped[Trust | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        """The id Flask-Login signs into the session cookie: "<user id>:<session version>"."""
        return f"{self.id}:{self.session_version or 0}"

    def end_sessions(self) -> None:
        """Every session cookie issued to this user so far stops working."""
        self.session_version = (self.session_version or 0) + 1

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def organisation_name(self) -> str:
        if self.school is not None:
            return self.school.name
        if self.provider is not None:
            return self.provider.name
        if self.trust is not None:
            return self.trust.name
        return "Partnership office"

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class LoginThrottle(Model):
    """Failed sign-ins per email address and client, shared by every worker through the
    database. The row with `email` ANY_ADDRESS counts a client's failures at every address."""

    __tablename__ = "login_throttles"

    email: Mapped[str] = mapped_column(sa.String(254), primary_key=True)
    client: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MembershipTerm(Model):
    """The partnership's subscription terms for one academic year (1 Sept – 31 Aug)."""

    __tablename__ = "membership_terms"
    __table_args__ = (
        sa.CheckConstraint("rate_per_pupil_pence >= 0", name="rate_not_negative"),
        sa.CheckConstraint(
            "council_match_bp >= 0 AND council_match_bp <= 20000", name="match_in_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    start_year: Mapped[int] = mapped_column(unique=True)
    rate_per_pupil_pence: Mapped[int]
    # Default cap on one school's subscription; a membership may set its own.
    default_cap_pence: Mapped[int | None]
    # The council's match as basis points of the subscription (10,000 = pound for pound).
    council_match_bp: Mapped[int] = mapped_column(default=10_000)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="term")

    @property
    def label(self) -> str:
        return f"{self.start_year}/{(self.start_year + 1) % 100:02d}"


class Membership(Model):
    """A school's membership for one academic year and the pupil count its subscription uses."""

    __tablename__ = "memberships"
    __table_args__ = (
        sa.UniqueConstraint("school_id", "term_id", name="uq_memberships_school_term"),
        sa.CheckConstraint("pupils_counted >= 0", name="pupils_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    term_id: Mapped[int] = mapped_column(sa.ForeignKey("membership_terms.id"), index=True)
    pupils_counted: Mapped[int]
    cap_pence: Mapped[int | None]
    joined_on: Mapped[date] = mapped_column(default=date.today)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    school: Mapped[School] = relationship(back_populates="memberships")
    term: Mapped[MembershipTerm] = relationship(back_populates="memberships")


class Grant(Model):
    """Money the partnership received from outside: a grant or a council commission."""

    __tablename__ = "grants"
    __table_args__ = (sa.CheckConstraint("amount_pence > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    amount_pence: Mapped[int] = mapped_column(sa.BigInteger)
    received_on: Mapped[date] = mapped_column(index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PartnershipSettings(Model):
    """The partnership itself (one row, made by `flask setup`): who invoices come from, where
    schools pay, its fee on traded services and the defaults for a new academic year."""

    __tablename__ = "partnership_settings"
    __table_args__ = (
        sa.CheckConstraint("fee_bp >= 0 AND fee_bp <= 10000", name="fee_in_range"),
        sa.CheckConstraint("default_rate_per_pupil_pence >= 0", name="default_rate_not_negative"),
        sa.CheckConstraint(
            "default_council_match_bp >= 0 AND default_council_match_bp <= 20000",
            name="default_match_in_range",
        ),
        sa.CheckConstraint(
            "provider_payment_days >= 0 AND provider_payment_days <= 365",
            name="payment_days_in_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # As typed on invoices, e.g. "GB 123 4567 89"; blank when not VAT registered.
    vat_number: Mapped[str] = mapped_column(sa.String(20), default="")
    # The address invoices come from, one line per line.
    address: Mapped[str] = mapped_column(sa.Text, default="")
    # Basis points of what providers are paid for traded services (500 = 5%).
    fee_bp: Mapped[int] = mapped_column(default=500)
    default_rate_per_pupil_pence: Mapped[int] = mapped_column(default=0)
    default_cap_pence: Mapped[int | None]
    default_council_match_bp: Mapped[int] = mapped_column(default=10_000)
    # Where schools pay by BACS, printed on invoices.
    bank_account_name: Mapped[str] = mapped_column(sa.String(100), default="")
    bank_sort_code: Mapped[str] = mapped_column(sa.String(8), default="")
    bank_account_number: Mapped[str] = mapped_column(sa.String(8), default="")
    # Providers are paid this many days after the end of the month of delivery.
    provider_payment_days: Mapped[int] = mapped_column(default=30, server_default=sa.text("30"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def address_lines(self) -> list[str]:
        return [line.strip() for line in self.address.splitlines() if line.strip()]


class GiasImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class GiasImport(Model):
    """A large GIAS file being imported by a job: the file itself (so any consumer host can
    read it), how far the job has got, and what it found."""

    __tablename__ = "gias_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(200), default="")
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    la_code: Mapped[str | None] = mapped_column(sa.String(10))
    status: Mapped[GiasImportStatus] = enum_column(
        GiasImportStatus, default=GiasImportStatus.QUEUED
    )
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    error: Mapped[str] = mapped_column(sa.Text, default="")
    requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def in_progress(self) -> bool:
        return self.status in (GiasImportStatus.QUEUED, GiasImportStatus.RUNNING)


class AuditEvent(Model):
    """Append-only record of a state change: who, when, what, before and after."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    actor_label: Mapped[str] = mapped_column(sa.String(254), default="system")
    entity_type: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[str] = mapped_column(sa.String(40))
    action: Mapped[str] = mapped_column(sa.String(60))
    # A grouping for reading the trail, e.g. "tender:12" or "school:5".
    scope: Mapped[str] = mapped_column(sa.String(60), default="", index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    __table_args__ = (sa.Index("ix_audit_events_entity", "entity_type", "entity_id"),)
