"""supply: the supply-staff managed service (contract, agencies, rate card in parts, workers
and vetting, cover requests, proposals, bookings, timesheets, temp-to-perm hires) and the
vacancies board

Down revision 0007_hardening for now: re-point at merge after the migrations merged before it.

Revision ID: 0012_supply
Revises: 0011_round_estimates
Create Date: 2026-12-06 03:35:28.155388

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012_supply"
down_revision = "0011_round_estimates"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "supply_contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column(
            "release_mode",
            sa.Enum(
                "all-at-once",
                "ranked",
                name="releasemode",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("release_window_minutes", sa.Integer(), nullable=False),
        sa.Column("fill_by_hours", sa.Integer(), nullable=False),
        sa.Column("cancellation_notice_hours", sa.Integer(), nullable=False),
        sa.Column("cancellation_fee_bp", sa.Integer(), nullable=False),
        sa.Column("introduced_fee_bp", sa.Integer(), nullable=False),
        sa.Column("temp_to_perm_free_after_weeks", sa.Integer(), nullable=False),
        sa.Column("temp_to_perm_max_fee_bp", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "cancellation_fee_bp >= 0 AND cancellation_fee_bp <= 10000",
            name=op.f("ck_supply_contracts_cancel_in_range"),
        ),
        sa.CheckConstraint(
            "cancellation_notice_hours >= 0", name=op.f("ck_supply_contracts_notice_not_negative")
        ),
        sa.CheckConstraint(
            "introduced_fee_bp >= 0 AND introduced_fee_bp <= 10000",
            name=op.f("ck_supply_contracts_introduced_in_range"),
        ),
        sa.CheckConstraint(
            "release_window_minutes >= 0", name=op.f("ck_supply_contracts_window_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_contracts")),
    )
    op.create_table(
        "supply_baselines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "teacher",
                "cover-supervisor",
                "teaching-assistant",
                "sen-teaching-assistant",
                "nursery-nurse",
                name="supplyrole",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("day_charge_pence", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "day_charge_pence > 0", name=op.f("ck_supply_baselines_charge_positive")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_supply_baselines_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_baselines")),
        sa.UniqueConstraint("school_id", "role", name="uq_supply_baselines_school_role"),
    )
    with op.batch_alter_table("supply_baselines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supply_baselines_school_id"), ["school_id"], unique=False
        )

    op.create_table(
        "supply_agencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.CheckConstraint("rank >= 1", name=op.f("ck_supply_agencies_rank_positive")),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["supply_contracts.id"],
            name=op.f("fk_supply_agencies_contract_id_supply_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_supply_agencies_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_agencies")),
        sa.UniqueConstraint("contract_id", "provider_id", name="uq_supply_agencies_provider"),
    )
    with op.batch_alter_table("supply_agencies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supply_agencies_contract_id"), ["contract_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supply_agencies_provider_id"), ["provider_id"], unique=False
        )

    op.create_table(
        "supply_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "teacher",
                "cover-supervisor",
                "teaching-assistant",
                "sen-teaching-assistant",
                "nursery-nurse",
                name="supplyrole",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column(
            "unit",
            sa.Enum(
                "day",
                "half-day",
                name="rateunit",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column(
            "weighting",
            sa.Enum(
                "none",
                "outer-london",
                "inner-london",
                name="weighting",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("pay_pence", sa.Integer(), nullable=False),
        sa.Column("ni_pence", sa.Integer(), nullable=False),
        sa.Column("pension_pence", sa.Integer(), nullable=False),
        sa.Column("holiday_pence", sa.Integer(), nullable=False),
        sa.Column("fee_pence", sa.Integer(), nullable=False),
        sa.Column("charge_pence", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "charge_pence = pay_pence + ni_pence + pension_pence + holiday_pence + fee_pence",
            name=op.f("ck_supply_rates_charge_is_sum"),
        ),
        sa.CheckConstraint(
            "pay_pence >= 0 AND ni_pence >= 0 AND pension_pence >= 0 AND holiday_pence >= 0 AND fee_pence >= 0",
            name=op.f("ck_supply_rates_parts_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["supply_contracts.id"],
            name=op.f("fk_supply_rates_contract_id_supply_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_supply_rates_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_rates")),
        sa.UniqueConstraint(
            "contract_id", "provider_id", "role", "unit", "weighting", name="uq_supply_rates_cell"
        ),
    )
    with op.batch_alter_table("supply_rates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supply_rates_contract_id"), ["contract_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supply_rates_provider_id"), ["provider_id"], unique=False
        )

    op.create_table(
        "supply_workers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "teacher",
                "cover-supervisor",
                "teaching-assistant",
                "sen-teaching-assistant",
                "nursery-nurse",
                name="supplyrole",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("trn", sa.String(length=20), nullable=False),
        sa.Column("introduced_by_school_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["introduced_by_school_id"],
            ["schools.id"],
            name=op.f("fk_supply_workers_introduced_by_school_id_schools"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_supply_workers_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_workers")),
    )
    with op.batch_alter_table("supply_workers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supply_workers_introduced_by_school_id"),
            ["introduced_by_school_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_supply_workers_provider_id"), ["provider_id"], unique=False
        )

    op.create_table(
        "supply_preferred_workers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_supply_preferred_workers_school_id_schools"),
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["supply_workers.id"],
            name=op.f("fk_supply_preferred_workers_worker_id_supply_workers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_preferred_workers")),
        sa.UniqueConstraint("school_id", "worker_id", name="uq_supply_preferred_workers_pair"),
    )
    with op.batch_alter_table("supply_preferred_workers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supply_preferred_workers_school_id"), ["school_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supply_preferred_workers_worker_id"), ["worker_id"], unique=False
        )

    op.create_table(
        "supply_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "teacher",
                "cover-supervisor",
                "teaching-assistant",
                "sen-teaching-assistant",
                "nursery-nurse",
                name="supplyrole",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column(
            "session",
            sa.Enum(
                "full-day",
                "morning",
                "afternoon",
                name="session",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column(
            "weighting",
            sa.Enum(
                "none",
                "outer-london",
                "inner-london",
                name="weighting",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("phase", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "filled",
                "cancelled",
                name="requeststatus",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fill_by_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "ends_on >= starts_on", name=op.f("ck_supply_requests_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["supply_contracts.id"],
            name=op.f("fk_supply_requests_contract_id_supply_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_supply_requests_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_supply_requests_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_requests")),
    )
    with op.batch_alter_table("supply_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supply_requests_contract_id"), ["contract_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supply_requests_school_id"), ["school_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supply_requests_starts_on"), ["starts_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_supply_requests_status"), ["status"], unique=False)

    op.create_table(
        "supply_vetting_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "dbs-barred",
                "dbs-update-service",
                "right-to-work",
                "qts",
                "trn",
                "references",
                "safeguarding-training",
                name="checkkind",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.CheckConstraint(
            "expires_on >= checked_on", name=op.f("ck_supply_vetting_checks_expires_after_check")
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["supply_workers.id"],
            name=op.f("fk_supply_vetting_checks_worker_id_supply_workers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_vetting_checks")),
        sa.UniqueConstraint("worker_id", "kind", name="uq_supply_vetting_checks_kind"),
    )
    with op.batch_alter_table("supply_vetting_checks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supply_vetting_checks_worker_id"), ["worker_id"], unique=False
        )

    op.create_table(
        "vacancies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "teacher",
                "cover-supervisor",
                "teaching-assistant",
                "sen-teaching-assistant",
                "nursery-nurse",
                name="supplyrole",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column(
            "contract_type",
            sa.Enum(
                "permanent",
                "fixed-term",
                "maternity-cover",
                name="contracttype",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("phase", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("salary_min_pence", sa.BigInteger(), nullable=False),
        sa.Column("salary_max_pence", sa.BigInteger(), nullable=False),
        sa.Column("closing_on", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("documents", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "salary_min_pence > 0 AND salary_max_pence >= salary_min_pence",
            name=op.f("ck_vacancies_salary_range"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_vacancies_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_vacancies_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vacancies")),
    )
    with op.batch_alter_table("vacancies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vacancies_closing_on"), ["closing_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_vacancies_school_id"), ["school_id"], unique=False)

    op.create_table(
        "supply_permanent_hires",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("vacancy_id", sa.Integer(), nullable=True),
        sa.Column("weeks_engaged", sa.Integer(), nullable=False),
        sa.Column("salary_pence", sa.BigInteger(), nullable=False),
        sa.Column("fee_pence", sa.BigInteger(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "fee_pence >= 0 AND salary_pence > 0",
            name=op.f("ck_supply_permanent_hires_amounts_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_supply_permanent_hires_provider_id_providers"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_supply_permanent_hires_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["vacancy_id"],
            ["vacancies.id"],
            name=op.f("fk_supply_permanent_hires_vacancy_id_vacancies"),
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["supply_workers.id"],
            name=op.f("fk_supply_permanent_hires_worker_id_supply_workers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_permanent_hires")),
        sa.UniqueConstraint("school_id", "worker_id", name="uq_supply_hires_worker"),
    )
    with op.batch_alter_table("supply_permanent_hires", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supply_permanent_hires_provider_id"), ["provider_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supply_permanent_hires_school_id"), ["school_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supply_permanent_hires_worker_id"), ["worker_id"], unique=False
        )

    op.create_table(
        "supply_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("day_rate_id", sa.Integer(), nullable=False),
        sa.Column("half_day_rate_id", sa.Integer(), nullable=False),
        sa.Column("introduced", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "proposed",
                "accepted",
                "not-chosen",
                name="proposalstatus",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["day_rate_id"],
            ["supply_rates.id"],
            name=op.f("fk_supply_proposals_day_rate_id_supply_rates"),
        ),
        sa.ForeignKeyConstraint(
            ["half_day_rate_id"],
            ["supply_rates.id"],
            name=op.f("fk_supply_proposals_half_day_rate_id_supply_rates"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_supply_proposals_provider_id_providers"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["supply_requests.id"],
            name=op.f("fk_supply_proposals_request_id_supply_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["supply_workers.id"],
            name=op.f("fk_supply_proposals_worker_id_supply_workers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_proposals")),
        sa.UniqueConstraint("request_id", "worker_id", name="uq_supply_proposals_worker"),
    )
    with op.batch_alter_table("supply_proposals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supply_proposals_provider_id"), ["provider_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supply_proposals_request_id"), ["request_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supply_proposals_worker_id"), ["worker_id"], unique=False
        )

    op.create_table(
        "supply_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "teacher",
                "cover-supervisor",
                "teaching-assistant",
                "sen-teaching-assistant",
                "nursery-nurse",
                name="supplyrole",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("parity_day_pay_pence", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "confirmed",
                "cancelled",
                name="bookingstatus",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancellation_fee_pence", sa.Integer(), nullable=False),
        sa.Column("cancellation_invoice_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "cancellation_fee_pence >= 0", name=op.f("ck_supply_bookings_fee_not_negative")
        ),
        sa.CheckConstraint(
            "parity_day_pay_pence IS NULL OR parity_day_pay_pence > 0",
            name=op.f("ck_supply_bookings_parity_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["cancellation_invoice_id"],
            ["invoices.id"],
            name=op.f("fk_supply_bookings_cancellation_invoice_id_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["supply_proposals.id"],
            name=op.f("fk_supply_bookings_proposal_id_supply_proposals"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_supply_bookings_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["supply_requests.id"],
            name=op.f("fk_supply_bookings_request_id_supply_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_supply_bookings_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["supply_workers.id"],
            name=op.f("fk_supply_bookings_worker_id_supply_workers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_bookings")),
        sa.UniqueConstraint(
            "cancellation_invoice_id", name=op.f("uq_supply_bookings_cancellation_invoice_id")
        ),
        sa.UniqueConstraint("proposal_id", name=op.f("uq_supply_bookings_proposal_id")),
        sa.UniqueConstraint("request_id", name=op.f("uq_supply_bookings_request_id")),
    )
    with op.batch_alter_table("supply_bookings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supply_bookings_provider_id"), ["provider_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supply_bookings_school_id"), ["school_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supply_bookings_worker_id"), ["worker_id"], unique=False
        )

    op.create_table(
        "supply_timesheets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("week_starting", sa.Date(), nullable=False),
        sa.Column("term_key", sa.String(length=20), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "approved",
                "queried",
                name="timesheetstatus",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decide_by_on", sa.Date(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("query_note", sa.String(length=500), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["supply_bookings.id"],
            name=op.f("fk_supply_timesheets_booking_id_supply_bookings"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_supply_timesheets_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_supply_timesheets_provider_id_providers"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_supply_timesheets_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_timesheets")),
        sa.UniqueConstraint("booking_id", "week_starting", name="uq_supply_timesheets_week"),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_supply_timesheets_invoice_id")),
    )
    with op.batch_alter_table("supply_timesheets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supply_timesheets_booking_id"), ["booking_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supply_timesheets_provider_id"), ["provider_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supply_timesheets_school_id"), ["school_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_supply_timesheets_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_supply_timesheets_term_key"), ["term_key"], unique=False
        )

    op.create_table(
        "supply_timesheet_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("timesheet_id", sa.Integer(), nullable=False),
        sa.Column("worked_on", sa.Date(), nullable=False),
        sa.Column(
            "unit",
            sa.Enum(
                "day",
                "half-day",
                name="rateunit",
                native_enum=False,
                create_constraint=True,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("pay_pence", sa.Integer(), nullable=False),
        sa.Column("oncost_pence", sa.Integer(), nullable=False),
        sa.Column("fee_pence", sa.Integer(), nullable=False),
        sa.Column("charge_pence", sa.Integer(), nullable=False),
        sa.Column("awr_week", sa.Integer(), nullable=False),
        sa.Column("at_parity", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "awr_week >= 1", name=op.f("ck_supply_timesheet_lines_awr_week_positive")
        ),
        sa.CheckConstraint(
            "charge_pence = pay_pence + oncost_pence + fee_pence",
            name=op.f("ck_supply_timesheet_lines_charge_is_sum"),
        ),
        sa.ForeignKeyConstraint(
            ["timesheet_id"],
            ["supply_timesheets.id"],
            name=op.f("fk_supply_timesheet_lines_timesheet_id_supply_timesheets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_timesheet_lines")),
        sa.UniqueConstraint("timesheet_id", "worked_on", name="uq_supply_lines_day"),
    )
    with op.batch_alter_table("supply_timesheet_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supply_timesheet_lines_timesheet_id"), ["timesheet_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supply_timesheet_lines_worked_on"), ["worked_on"], unique=False
        )


def downgrade():
    with op.batch_alter_table("supply_timesheet_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_timesheet_lines_worked_on"))
        batch_op.drop_index(batch_op.f("ix_supply_timesheet_lines_timesheet_id"))

    op.drop_table("supply_timesheet_lines")
    with op.batch_alter_table("supply_timesheets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_timesheets_term_key"))
        batch_op.drop_index(batch_op.f("ix_supply_timesheets_status"))
        batch_op.drop_index(batch_op.f("ix_supply_timesheets_school_id"))
        batch_op.drop_index(batch_op.f("ix_supply_timesheets_provider_id"))
        batch_op.drop_index(batch_op.f("ix_supply_timesheets_booking_id"))

    op.drop_table("supply_timesheets")
    with op.batch_alter_table("supply_bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_bookings_worker_id"))
        batch_op.drop_index(batch_op.f("ix_supply_bookings_school_id"))
        batch_op.drop_index(batch_op.f("ix_supply_bookings_provider_id"))

    op.drop_table("supply_bookings")
    with op.batch_alter_table("supply_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_proposals_worker_id"))
        batch_op.drop_index(batch_op.f("ix_supply_proposals_request_id"))
        batch_op.drop_index(batch_op.f("ix_supply_proposals_provider_id"))

    op.drop_table("supply_proposals")
    with op.batch_alter_table("supply_permanent_hires", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_permanent_hires_worker_id"))
        batch_op.drop_index(batch_op.f("ix_supply_permanent_hires_school_id"))
        batch_op.drop_index(batch_op.f("ix_supply_permanent_hires_provider_id"))

    op.drop_table("supply_permanent_hires")
    with op.batch_alter_table("vacancies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vacancies_school_id"))
        batch_op.drop_index(batch_op.f("ix_vacancies_closing_on"))

    op.drop_table("vacancies")
    with op.batch_alter_table("supply_vetting_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_vetting_checks_worker_id"))

    op.drop_table("supply_vetting_checks")
    with op.batch_alter_table("supply_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_requests_status"))
        batch_op.drop_index(batch_op.f("ix_supply_requests_starts_on"))
        batch_op.drop_index(batch_op.f("ix_supply_requests_school_id"))
        batch_op.drop_index(batch_op.f("ix_supply_requests_contract_id"))

    op.drop_table("supply_requests")
    with op.batch_alter_table("supply_preferred_workers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_preferred_workers_worker_id"))
        batch_op.drop_index(batch_op.f("ix_supply_preferred_workers_school_id"))

    op.drop_table("supply_preferred_workers")
    with op.batch_alter_table("supply_workers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_workers_provider_id"))
        batch_op.drop_index(batch_op.f("ix_supply_workers_introduced_by_school_id"))

    op.drop_table("supply_workers")
    with op.batch_alter_table("supply_rates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_rates_provider_id"))
        batch_op.drop_index(batch_op.f("ix_supply_rates_contract_id"))

    op.drop_table("supply_rates")
    with op.batch_alter_table("supply_agencies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_agencies_provider_id"))
        batch_op.drop_index(batch_op.f("ix_supply_agencies_contract_id"))

    op.drop_table("supply_agencies")
    with op.batch_alter_table("supply_baselines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_baselines_school_id"))

    op.drop_table("supply_baselines")
    op.drop_table("supply_contracts")
