"""The optimizer instance of a round, built from the database in one place (`build_inputs`).

School "S<id>", provider "P<id>", lot "<service slug>@<term key>", offer
"O<offer id>@<term key>" with its capacity *left* in that term, tiers, set-up charge, minimum
award (the offer's minimum quantity) and the schools it cannot serve (excluded by name,
outside its areas, or the provider's own school). docs/aggregator.md describes the instance.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Provider, School
from marketplace.offers.models import Offer, OfferStatus
from procurement.rounds.lots import lots
from procurement.rounds.models import BuyingRound, Pledge, RoundOffer


def fingerprint(data: Any) -> str:
    """SHA-256 of canonical JSON: equal data, equal fingerprint."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Inputs:
    """An optimizer instance built from the round, and the labels to read it by."""

    instance: dict[str, Any]
    labels: dict[str, Any]

    @property
    def sha256(self) -> str:
        return fingerprint(self.instance)


def school_key(school_id: int) -> str:
    return f"S{school_id}"


def _offer_key(offer_id: int, term_key: str) -> str:
    return f"O{offer_id}@{term_key}"


def awaiting(round_id: int, school_id: int | None = None) -> list[Pledge]:
    """Active pledges waiting for their head's approval (one school's, or every school's)."""
    stmt = (
        sa.select(Pledge)
        .where(
            Pledge.round_id == round_id,
            Pledge.withdrawn_at.is_(None),
            Pledge.approved_at.is_(None),
        )
        .options(selectinload(Pledge.school), selectinload(Pledge.service))
        .order_by(Pledge.school_id, Pledge.service_id, Pledge.term_key)
    )
    if school_id is not None:
        stmt = stmt.where(Pledge.school_id == school_id)
    return list(db.session.scalars(stmt))


def build_inputs(buying_round: BuyingRound, *, include_awaiting: bool = False) -> Inputs:
    """The optimizer instance for the round's active, approved pledges, offers and rules.

    Pledges still waiting for their head's approval take no part (and are named in the labels'
    "skipped"), unless `include_awaiting` (the indicative price while pledging is open).
    """
    conditions = [Pledge.round_id == buying_round.id, Pledge.withdrawn_at.is_(None)]
    if not include_awaiting:
        conditions.append(Pledge.approved_at.is_not(None))
    pledges = list(
        db.session.execute(
            sa.select(Pledge.school_id, Pledge.service_id, Pledge.term_key, Pledge.quantity)
            .where(*conditions)
            .order_by(Pledge.school_id, Pledge.service_id, Pledge.term_key)
        )
    )
    school_ids = sorted({school_id for school_id, *_ in pledges})
    schools = {
        s.id: s for s in db.session.scalars(sa.select(School).where(School.id.in_(school_ids)))
    }
    own_provider: dict[int, set[int]] = defaultdict(set)
    for provider_id, school_id in db.session.execute(
        sa.select(Provider.id, Provider.school_id).where(Provider.school_id.in_(school_ids))
    ):
        if school_id is not None:
            own_provider[school_id].add(provider_id)
    offers = list(
        db.session.scalars(
            sa.select(Offer)
            .join(RoundOffer, RoundOffer.offer_id == Offer.id)
            .where(RoundOffer.round_id == buying_round.id)
            .options(
                selectinload(Offer.tiers),
                selectinload(Offer.capacities),
                selectinload(Offer.provider),
            )
            .order_by(Offer.id)
        )
    )
    round_lots = lots(buying_round)
    lot_by_key = {(lot.service.id, lot.term.key): lot for lot in round_lots}
    labels: dict[str, Any] = {
        "round": {"id": buying_round.id, "title": buying_round.title},
        "schools": {},
        "providers": {},
        "offers": {},
        "lots": {},
        "skipped": [],
    }
    for lot in round_lots:
        labels["lots"][lot.key] = {
            "service_id": lot.service.id,
            "service": lot.service.name,
            "unit": lot.service.unit.value,
            "term_key": lot.term.key,
            "term": lot.term.label,
        }
    if not include_awaiting:
        for pledge in awaiting(buying_round.id):
            label = lot_by_key.get((pledge.service_id, pledge.term_key))
            labels["skipped"].append(
                f"{pledge.school.name}’s pledge of {pledge.quantity} for "
                f"{label.label if label else pledge.service.name} was not approved by the "
                "school’s head and takes no part."
            )
    demand = []
    for school_id, service_id, term_key, quantity in pledges:
        pledged_lot = lot_by_key.get((service_id, term_key))
        if pledged_lot is None:  # a service or term no longer in the round
            continue
        demand.append(
            {"school": school_key(school_id), "service": pledged_lot.key, "quantity": quantity}
        )
    pledging = [schools[i] for i in school_ids if i in schools]
    for school in pledging:
        labels["schools"][school_key(school.id)] = {"id": school.id, "name": school.name}
    instance_offers = []
    for lot in round_lots:
        for offer in offers:
            if offer.service_id != lot.service.id:
                continue
            name = f"{offer.provider.name}: “{offer.title}”"
            if offer.status is not OfferStatus.LIVE:
                labels["skipped"].append(f"{name} is {offer.status.value} and takes no part.")
                continue
            capacity = next((c for c in offer.capacities if c.term_key == lot.term.key), None)
            if capacity is None or not (
                offer.valid_from <= lot.term.ends_on and offer.valid_to >= lot.term.starts_on
            ):
                labels["skipped"].append(f"{name} does not run in {lot.term.label}.")
                continue
            key = _offer_key(offer.id, lot.term.key)
            provider_key = f"P{offer.provider_id}"
            labels["providers"][provider_key] = {
                "id": offer.provider_id,
                "name": offer.provider.name,
            }
            labels["offers"][key] = {
                "id": offer.id,
                "title": offer.title,
                "provider": provider_key,
                "term_key": lot.term.key,
                "lot": lot.key,
                "capacity": capacity.capacity,
                "reserved": capacity.reserved,
            }
            excluded = sorted(
                school_key(school.id)
                for school in pledging
                if school.id in set(offer.excluded_school_ids or [])
                or (offer.areas and school.area not in set(offer.areas))
                or offer.provider_id in own_provider[school.id]
            )
            instance_offers.append(
                {
                    "id": key,
                    "provider": provider_key,
                    "service": lot.key,
                    "capacity": max(0, capacity.capacity - capacity.reserved),
                    "tiers": [
                        {"from": t.min_quantity, "unit_price_pence": t.unit_price_pence}
                        for t in sorted(offer.tiers, key=lambda t: t.min_quantity)
                    ],
                    "min_award": max(0, offer.min_quantity),
                    "setup_pence": offer.setup_pence,
                    "excluded_schools": excluded,
                }
            )
    instance = {
        "schools": [{"id": school_key(school.id)} for school in pledging],
        "demand": demand,
        "offers": instance_offers,
        "rules": {
            "max_share": buying_round.max_share,
            "min_providers": buying_round.min_providers,
            "single_source": buying_round.single_source,
        },
    }
    return Inputs(instance, labels)
