"""The demo's payments to providers: imported from a bank file and recorded by hand, through
the use cases; the supply agency's account is left with an overdue balance."""

import sqlalchemy as sa

from app.demo.payouts import OVERDUE_PROVIDER, PARTLY_PAID_PROVIDER
from app.extensions import db
from app.models import Provider
from marketplace.payouts import statement
from marketplace.payouts.models import PaymentSource, ProviderPayment, ProviderPaymentImport


def test_the_demo_pays_its_providers_and_leaves_the_agency_overdue(runner):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output

    payments = list(db.session.scalars(sa.select(ProviderPayment)))
    sources = {p.source for p in payments}
    assert sources == {PaymentSource.IMPORT, PaymentSource.MANUAL}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProviderPaymentImport)) == 1
    agency = db.session.scalar(sa.select(Provider).where(Provider.name == OVERDUE_PROVIDER))
    position = statement.statement(agency).position
    assert position.paid_pence > 0 and position.overdue_pence > 0
    others = {s.provider_name: s for s in statement.statements() if s.provider_id != agency.id}
    assert others[PARTLY_PAID_PROVIDER].position.paid_pence > 0  # the provider account's
    assert all(s.position.overdue_pence == 0 for s in others.values())

    again = runner.invoke(args=["demo", "seed"])
    assert again.exit_code == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProviderPayment)) == len(
        payments
    )
