"""Open buying rounds as the marketplace sees them: which rounds are pricing a service now, and
at what indicative price per unit (`marketplace.catalogue.coverage`, installed by the app
factory so the marketplace need not import procurement)."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.money import half_up
from app.time import utcnow
from marketplace.catalogue.coverage import RoundCover
from procurement.rounds.estimates import indicative
from procurement.rounds.lots import lots
from procurement.rounds.models import BuyingRound, RoundService, RoundStatus


def indicative_unit_prices(buying_round: BuyingRound) -> dict[str, int]:
    """Per lot key: what the pooled schools would pay per unit met now, on average (their
    indicative charges over the units met, half up); lots nobody pledged for are left out."""
    estimate = indicative(buying_round)
    if estimate is None or estimate.answer is None or estimate.answer.status == "infeasible":
        return {}
    charged: dict[str, int] = {}
    met: dict[str, int] = {}
    for line in estimate.answer.lines:
        charged[line.lot_key] = charged.get(line.lot_key, 0) + line.charge_pence
        met[line.lot_key] = met.get(line.lot_key, 0) + line.met
    return {key: half_up(charged[key], met[key]) for key in charged if met[key]}


class OpenRoundCoverage:
    """Open rounds read from the round register (the `Coverage` seam)."""

    def open_rounds(self, service_id: int) -> list[RoundCover]:
        now = utcnow()
        rounds = db.session.scalars(
            sa.select(BuyingRound)
            .join(RoundService, RoundService.round_id == BuyingRound.id)
            .where(
                RoundService.service_id == service_id,
                BuyingRound.status == RoundStatus.OPEN,
                BuyingRound.pledge_deadline_at > now,
            )
            .order_by(BuyingRound.pledge_deadline_at, BuyingRound.id)
        )
        covers = []
        for buying_round in rounds:
            prices = indicative_unit_prices(buying_round)
            for lot in lots(buying_round):
                if lot.service.id != service_id:
                    continue
                covers.append(
                    RoundCover(
                        round_id=buying_round.id,
                        title=buying_round.title,
                        term_key=lot.term.key,
                        term_label=lot.term.label,
                        pledge_deadline_at=buying_round.pledge_deadline_at,
                        unit_price_pence=prices.get(lot.key),
                    )
                )
        return covers
