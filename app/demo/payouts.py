"""The demo's payments to providers, made through the same use cases as the pages: a bank file
of last week's transfers, imported, settles what most providers were owed by its due date;
Ealing Supply Partners (the agency account's) was paid only part by hand and is left with an
overdue balance; the counselling collective (the provider account's) was paid for a first
order."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import Role, User
from app.money import pence_to_pounds_text
from marketplace.payouts import services, statement
from marketplace.payouts.models import ProviderPayment

OVERDUE_PROVIDER = "Ealing Supply Partners"
PARTLY_PAID_PROVIDER = "West London Counselling Collective"


def seed_demo_payments(today: date) -> dict[str, int]:
    """Payments out for the demo providers; {} when there are some already."""
    if db.session.scalar(sa.select(ProviderPayment.id).limit(1)) is not None:
        return {}
    admin = db.session.scalar(
        sa.select(User).where(User.role == Role.ADMIN).order_by(User.id).limit(1)
    )
    if admin is None:
        return {}
    paid_on = today - timedelta(days=5)
    lines: list[list[str]] = []
    by_hand = 0
    for number, s in enumerate(statement.statements(today), start=1):
        if s.provider_name == OVERDUE_PROVIDER and s.position.overdue_pence:
            # Half of what was overdue, in whole pounds: the rest is still overdue.
            half = s.position.overdue_pence // 200 * 100
            if half > 0:
                services.record_payment(
                    services.PaymentInput(
                        s.provider_id,
                        paid_on - timedelta(days=20),
                        half,
                        f"ELP-PAY-{today:%y%m}-H{number:02d}",
                        "Part payment: the rest follows once the queried weeks are settled.",
                    ),
                    admin,
                    today=today,
                )
                by_hand += 1
            continue
        amount = s.position.overdue_pence
        if s.provider_name == PARTLY_PAID_PROVIDER and not amount and s.lines:
            amount = s.lines[0].owed_pence  # paid early for its first delivered order
        if amount > 0:
            lines.append(
                [
                    paid_on.isoformat(),
                    pence_to_pounds_text(amount),
                    f"ELP-PAY-{today:%y%m}-{number:02d}",
                    s.provider_name,
                ]
            )
    imported = 0
    if lines:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["date", "amount", "reference", "payee"])
        writer.writerows(lines)
        data = out.getvalue().encode()
        imported = services.import_bank_file(
            data, filename=f"bank-payments-{paid_on.isoformat()}.csv", actor=admin, today=today
        ).recorded
    return {"provider payments": by_hand + imported}
