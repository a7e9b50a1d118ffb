"""The aggregator's input: schools, their pledges, the offers and the rules, and their JSON form.

Pure: the standard library only. validate_instance names the first wrong field; the JSON format
is described in docs/aggregator.md.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any


class InstanceError(ValueError):
    """An instance that cannot be solved as given; ``field`` names the offending input."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class School:
    """A school taking part in the round."""

    id: str


@dataclass(frozen=True)
class Demand:
    """A school's pledge: units of one service it wants to buy."""

    school: str
    service: str
    quantity: int


@dataclass(frozen=True)
class Tier:
    """An all-units price band: from this total quantity on, every unit costs unit_price_pence."""

    from_quantity: int
    unit_price_pence: int


@dataclass(frozen=True)
class Offer:
    """A provider's offer for one service: capacity, all-units tiers and terms."""

    id: str
    provider: str
    service: str
    capacity: int
    tiers: tuple[Tier, ...]
    min_award: int = 0
    setup_pence: int = 0
    excluded_schools: frozenset[str] = frozenset()

    @cached_property
    def smallest_award(self) -> int:
        """The least positive quantity this offer may be awarded (min_award, first tier, 1)."""
        return max(self.min_award, self.tiers[0].from_quantity, 1)

    @cached_property
    def _starts(self) -> list[int]:
        return [tier.from_quantity for tier in self.tiers]

    def tier_index(self, quantity: int) -> int | None:
        """Index of the tier a total award of quantity falls in; None below the first tier."""
        index = bisect_right(self._starts, quantity) - 1
        return index if index >= 0 else None

    def can_award(self, quantity: int) -> bool:
        """Whether quantity is a permitted total award (0, or within minimum and capacity)."""
        return quantity == 0 or self.smallest_award <= quantity <= self.capacity

    def cost_pence(self, quantity: int) -> int:
        """Cost of awarding quantity in total: every unit at its tier's price, plus set-up."""
        if not self.can_award(quantity):
            raise ValueError(f"offer {self.id} cannot be awarded {quantity}")
        if quantity == 0:
            return 0
        index = self.tier_index(quantity)
        assert index is not None
        return quantity * self.tiers[index].unit_price_pence + self.setup_pence

    def serves(self, school: str) -> bool:
        """Whether the school may buy from this offer."""
        return school not in self.excluded_schools


@dataclass(frozen=True)
class Rules:
    """The committee's side constraints on a round."""

    max_share: float = 1.0
    min_providers: int = 1
    single_source: bool = False


@dataclass(frozen=True)
class Instance:
    """A round to aggregate: schools, their pledges, the offers and the rules."""

    schools: tuple[School, ...]
    demand: tuple[Demand, ...]
    offers: tuple[Offer, ...]
    rules: Rules = Rules()


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _whole(value: object, where: str, minimum: int = 0) -> None:
    if not _is_whole(value):
        raise InstanceError(where, f"must be a whole number, got {value!r}")
    assert isinstance(value, int)
    if value < minimum:
        raise InstanceError(where, f"must be >= {minimum}, got {value}")


def _text(value: object, where: str) -> None:
    if not isinstance(value, str) or not value:
        raise InstanceError(where, f"must be a non-empty string, got {value!r}")


def validate_instance(instance: Instance) -> None:
    """Raise InstanceError naming the first field that is wrong; positions are input order."""
    school_ids: set[str] = set()
    for i, school in enumerate(instance.schools):
        _text(school.id, f"schools[{i}].id")
        if school.id in school_ids:
            raise InstanceError(f"schools[{i}].id", f"duplicate school id {school.id!r}")
        school_ids.add(school.id)

    pledged: dict[tuple[str, str], int] = {}
    for i, pledge in enumerate(instance.demand):
        who, service, quantity = pledge.school, pledge.service, pledge.quantity
        # The quick test first (a round has many pledges); the full one names what is wrong.
        if not (
            type(who) is str
            and who in school_ids
            and type(service) is str
            and service
            and type(quantity) is int
            and quantity >= 0
        ):
            where = f"demand[{i}]"
            _text(who, f"{where}.school")
            if who not in school_ids:
                raise InstanceError(f"{where}.school", f"unknown school {who!r}")
            _text(service, f"{where}.service")
            _whole(quantity, f"{where}.quantity")
        key = (who, service)
        if key in pledged:
            where = f"demand[{i}]"
            raise InstanceError(
                where,
                f"duplicate pledge for school {pledge.school!r} and service {pledge.service!r}"
                f" (also demand[{pledged[key]}])",
            )
        pledged[key] = i

    offer_ids: set[str] = set()
    for i, offer in enumerate(instance.offers):
        where = f"offers[{i}]"
        _text(offer.id, f"{where}.id")
        if offer.id in offer_ids:
            raise InstanceError(f"{where}.id", f"duplicate offer id {offer.id!r}")
        offer_ids.add(offer.id)
        _text(offer.provider, f"{where}.provider")
        _text(offer.service, f"{where}.service")
        _whole(offer.capacity, f"{where}.capacity")
        if not offer.tiers:
            raise InstanceError(f"{where}.tiers", "needs at least one tier")
        for t, tier in enumerate(offer.tiers):
            _whole(tier.from_quantity, f"{where}.tiers[{t}].from")
            _whole(tier.unit_price_pence, f"{where}.tiers[{t}].unit_price_pence")
            if t and tier.from_quantity <= offer.tiers[t - 1].from_quantity:
                raise InstanceError(f"{where}.tiers[{t}].from", "tiers must be ascending")
        _whole(offer.min_award, f"{where}.min_award")
        _whole(offer.setup_pence, f"{where}.setup_pence")
        unknown = offer.excluded_schools - school_ids
        if unknown:
            first = min(unknown, key=str)
            raise InstanceError(f"{where}.excluded_schools", f"unknown school {first!r}")

    rules = instance.rules
    share = rules.max_share
    if not isinstance(share, (int, float)) or isinstance(share, bool) or not 0 < share <= 1:
        raise InstanceError("rules.max_share", f"must be a number in (0, 1], got {share!r}")
    _whole(rules.min_providers, "rules.min_providers")
    if not isinstance(rules.single_source, bool):
        raise InstanceError(
            "rules.single_source", f"must be true or false, got {rules.single_source!r}"
        )


def _fields(
    raw: object, where: str, required: Sequence[str], optional: Sequence[str]
) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise InstanceError(where or "instance", f"must be an object, got {type(raw).__name__}")
    for key in raw:
        if key not in required and key not in optional:
            raise InstanceError(f"{where}.{key}" if where else str(key), "unknown field")
    for key in required:
        if key not in raw:
            raise InstanceError(f"{where}.{key}" if where else key, "is required")
    return dict(raw)


def _list(raw: object, where: str) -> list[Any]:
    if not isinstance(raw, list):
        raise InstanceError(where, f"must be a list, got {type(raw).__name__}")
    return raw


def instance_from_json(data: object) -> Instance:
    """Build and validate an Instance from parsed JSON; raise InstanceError naming the field."""
    top = _fields(data, "", ("schools", "demand", "offers"), ("rules",))
    schools = []
    for i, raw in enumerate(_list(top["schools"], "schools")):
        item = _fields(raw, f"schools[{i}]", ("id",), ())
        schools.append(School(id=item["id"]))
    demand = []
    for i, raw in enumerate(_list(top["demand"], "demand")):
        item = _fields(raw, f"demand[{i}]", ("school", "service", "quantity"), ())
        demand.append(Demand(item["school"], item["service"], item["quantity"]))
    offers = []
    offer_required = ("id", "provider", "service", "capacity", "tiers")
    offer_optional = ("min_award", "setup_pence", "excluded_schools")
    for i, raw in enumerate(_list(top["offers"], "offers")):
        where = f"offers[{i}]"
        item = _fields(raw, where, offer_required, offer_optional)
        tiers = []
        for t, raw_tier in enumerate(_list(item["tiers"], f"{where}.tiers")):
            tier = _fields(raw_tier, f"{where}.tiers[{t}]", ("from", "unit_price_pence"), ())
            tiers.append(Tier(tier["from"], tier["unit_price_pence"]))
        excluded = _list(item.get("excluded_schools", []), f"{where}.excluded_schools")
        for e, school in enumerate(excluded):
            _text(school, f"{where}.excluded_schools[{e}]")
        offers.append(
            Offer(
                id=item["id"],
                provider=item["provider"],
                service=item["service"],
                capacity=item["capacity"],
                tiers=tuple(tiers),
                min_award=item.get("min_award", 0),
                setup_pence=item.get("setup_pence", 0),
                excluded_schools=frozenset(excluded),
            )
        )
    rules_raw = _fields(
        top.get("rules", {}), "rules", (), ("max_share", "min_providers", "single_source")
    )
    rules = Rules(
        max_share=rules_raw.get("max_share", 1.0),
        min_providers=rules_raw.get("min_providers", 1),
        single_source=rules_raw.get("single_source", False),
    )
    instance = Instance(tuple(schools), tuple(demand), tuple(offers), rules)
    validate_instance(instance)
    return instance


def instance_to_json(instance: Instance) -> dict[str, Any]:
    """The JSON form of an instance (the inverse of instance_from_json)."""
    return {
        "schools": [{"id": school.id} for school in instance.schools],
        "demand": [
            {"school": d.school, "service": d.service, "quantity": d.quantity}
            for d in instance.demand
        ],
        "offers": [
            {
                "id": offer.id,
                "provider": offer.provider,
                "service": offer.service,
                "capacity": offer.capacity,
                "tiers": [
                    {"from": tier.from_quantity, "unit_price_pence": tier.unit_price_pence}
                    for tier in offer.tiers
                ],
                "min_award": offer.min_award,
                "setup_pence": offer.setup_pence,
                "excluded_schools": sorted(offer.excluded_schools),
            }
            for offer in instance.offers
        ],
        "rules": {
            "max_share": instance.rules.max_share,
            "min_providers": instance.rules.min_providers,
            "single_source": instance.rules.single_source,
        },
    }
