"""Migration 0008 (money rules) on existing data, both ways, on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app.extensions import db
from marketplace.orders import decisions, drafting
from tests import factories
from tests.conftest import make_app
from tests.databases import fresh_database, migrate
from tests.marketplace.billing.conftest import make_order
from tests.marketplace.conftest import term_key
from tests.procurement.rounds.factories import make_round_world, pledge


def _statuses(ids: list[int]) -> list[tuple[str, str | None]]:
    rows = db.session.execute(
        sa.text("SELECT id, status FROM orders WHERE id IN (:a, :b) ORDER BY id"),
        {"a": ids[0], "b": ids[1]},
    )
    found = [status for _, status in rows]
    db.session.remove()  # on SQLite every transaction here is a writer: end it
    return found


def test_orders_cancelled_by_a_rejection_become_rejected_with_their_reason(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        app = make_app(url, tmp_path)
        migrate(app)
        with app.app_context():
            world = factories.make_world()
            orders = []
            for _ in range(2):
                order = drafting.create_draft(
                    school_id=world.school_a.id,
                    offer_id=world.offer_a.id,
                    term_key=term_key(),
                    quantity=12,
                    po_number="PO-9",
                    actor=world.sbm_a,
                )
                drafting.submit(order.id, world.school_a.id, world.sbm_a)
                orders.append(order.id)
            decisions.reject(orders[0], world.school_a.id, world.head_a, "Over budget")
            decisions.cancel(orders[1], world.school_a.id, world.sbm_a, "Not needed")
            delivered = make_order(world.school_b, world.offer_a, 2)
            delivered.accepted_at = None
            rw = make_round_world(world)
            pledge(rw, world.sbm_b, 10, approve=False)  # over the threshold: waiting
            db.session.commit()
            delivered_id, round_id = delivered.id, rw.buying_round.id

            # Trust and second-approver accounts (0017_trusts) cannot exist below it.
            db.session.execute(sa.text("DELETE FROM users WHERE role IN ('trust', 'governor')"))
            db.session.commit()
            db.session.remove()  # migrations run on their own connection
            # Before this migration, a rejection was stored as a cancellation.
            downgrade(revision="0007_hardening")
            assert _statuses(orders) == ["cancelled", "cancelled"]
            columns = {c["name"] for c in sa.inspect(db.engine).get_columns("orders")}
            assert "rejection_reason" not in columns
            db.session.remove()

            upgrade()
            assert _statuses(orders) == ["rejected", "cancelled"]
            reasons = db.session.execute(
                sa.text("SELECT rejection_reason FROM orders ORDER BY id")
            ).scalars()
            assert list(reasons) == ["Over budget", "", ""]
            # Deliveries recorded before the rule count as accepted; pledges made before it
            # were commitments when made.
            accepted, delivered_at = db.session.execute(
                sa.text("SELECT accepted_at, delivered_at FROM orders WHERE id = :id"),
                {"id": delivered_id},
            ).one()
            assert accepted is not None and accepted == delivered_at
            approved = db.session.execute(
                sa.text("SELECT approved_at FROM pledges WHERE round_id = :id"), {"id": round_id}
            ).scalar_one()
            assert approved is not None
            db.session.remove()
            db.engine.dispose()
