"""Payments out to providers, and the bank files they were imported from.

A payment's bank `reference` is unique per provider (stored upper-case, spaces collapsed), so
the same bank line can never be recorded twice, by hand, by an import, or by two at once.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import Provider, User, enum_column
from app.time import utcnow
from app.types import UTCDateTime


class PaymentSource(StrEnum):
    MANUAL = "manual"  # typed in on the record-a-payment page
    IMPORT = "import"  # a line of an imported bank file


class ProviderPaymentImport(Model):
    """One imported bank file: what it was and who imported it (its payments point here)."""

    __tablename__ = "provider_payment_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(200), default="")
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    payments: Mapped[int] = mapped_column(default=0)
    total_pence: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    imported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    imported_by: Mapped[User | None] = relationship()


class ProviderPayment(Model):
    """Money the partnership paid a provider on a day, by bank transfer."""

    __tablename__ = "provider_payments"
    __table_args__ = (
        sa.CheckConstraint("amount_pence > 0", name="amount_positive"),
        sa.UniqueConstraint("provider_id", "reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    paid_on: Mapped[date] = mapped_column(index=True)
    amount_pence: Mapped[int] = mapped_column(sa.BigInteger)
    # The bank's reference for the transfer, e.g. "ELP-PAY-0412".
    reference: Mapped[str] = mapped_column(sa.String(60))
    # The payee as the bank file named it (imports), for the finance team's checks.
    payee: Mapped[str] = mapped_column(sa.String(200), default="")
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    source: Mapped[PaymentSource] = enum_column(PaymentSource, default=PaymentSource.MANUAL)
    import_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("provider_payment_imports.id"), index=True
    )
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    provider: Mapped[Provider] = relationship()
    recorded_by: Mapped[User | None] = relationship()
    batch: Mapped[ProviderPaymentImport | None] = relationship()

    def __repr__(self) -> str:
        return f"<ProviderPayment {self.id} {self.reference} {self.amount_pence}p>"
