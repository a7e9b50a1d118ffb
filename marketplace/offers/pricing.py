"""What an order costs and what cancelling it costs.

Pure: imports the standard library and the pure money module only (no Flask, no SQLAlchemy),
so every rule here is tested with plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from app.money import half_up, percent_of


class PricingError(ValueError):
    """A price cannot be worked out from these inputs."""


@dataclass(frozen=True, order=True)
class Tier:
    """From `min_quantity` units up, every unit of the order costs `unit_price_pence`."""

    min_quantity: int
    unit_price_pence: int


class PriceSource(StrEnum):
    OFFER = "offer"  # the offer's volume tier for the quantity
    CONTRACT = "contract"  # the price awarded in a contract the school takes part in
    ENTITLEMENT = "entitlement"  # wholly covered by the membership's core offer


def tier_for(tiers: Sequence[Tier], quantity: int) -> Tier:
    """All-units pricing: the tier with the highest `min_quantity` not above the quantity."""
    if quantity <= 0:
        raise PricingError("The quantity must be at least 1")
    eligible = [tier for tier in tiers if tier.min_quantity <= quantity]
    if not eligible:
        if not tiers:
            raise PricingError("This offer has no prices")
        smallest = min(tier.min_quantity for tier in tiers)
        raise PricingError(f"This offer is priced from {smallest} units; order at least that")
    return max(eligible, key=lambda tier: tier.min_quantity)


def non_member_price(unit_price_pence: int, uplift_bp: int) -> int:
    """A tier's price for a school that is not a member this academic year: the member price
    plus the offer's uplift (basis points of it), rounded half up to the penny."""
    if unit_price_pence < 0 or not 0 <= uplift_bp <= 10_000:
        raise PricingError("Prices and uplifts cannot be negative")
    return unit_price_pence + percent_of(unit_price_pence, uplift_bp)


def non_member_tiers(
    tiers: Sequence[Tier], uplift_bp: int, explicit: Sequence[Tier] = ()
) -> list[Tier]:
    """The offer's tiers at non-member prices: its own non-member tiers when the provider gave
    them (`explicit`), else each member tier plus the uplift."""
    if explicit:
        return sorted(explicit)
    return [Tier(t.min_quantity, non_member_price(t.unit_price_pence, uplift_bp)) for t in tiers]


def non_member_tiers_problem(member: Sequence[Tier], non_member: Sequence[Tier]) -> str | None:
    """Why explicit non-member tiers do not fit the member tiers, or None: the same bands, and
    in each band a non-member price at least the member price."""
    if not non_member:
        return None
    if sorted(t.min_quantity for t in member) != sorted(t.min_quantity for t in non_member):
        return "Give a non-member price for every price band, or for none"
    member_prices = {t.min_quantity: t.unit_price_pence for t in member}
    for tier in sorted(non_member):
        if tier.unit_price_pence < member_prices[tier.min_quantity]:
            return (
                f"The non-member price from {tier.min_quantity} units cannot be less than the "
                "member price"
            )
    return None


def contract_unit_price(
    school_unit_price_pence: int | None, contract_tiers: Sequence[Tier], quantity: int
) -> int | None:
    """The awarded price for one school: its own agreed price, else the contract's tier price."""
    if school_unit_price_pence is not None:
        return school_unit_price_pence
    if not contract_tiers:
        return None
    return tier_for(contract_tiers, quantity).unit_price_pence


@dataclass(frozen=True)
class Quote:
    """The price of one order.

    `total_pence` = (quantity − entitled_quantity) × unit_price_pence + setup_pence, excluding
    VAT. Entitled units cost £0; the set-up charge applies only when some units are charged.
    """

    quantity: int
    entitled_quantity: int
    unit_price_pence: int
    setup_pence: int
    source: PriceSource
    tier_min_quantity: int | None = None
    # The member price of a unit when a non-member pays more (None: the price is the member's).
    member_unit_price_pence: int | None = None

    @property
    def charged_quantity(self) -> int:
        return self.quantity - self.entitled_quantity

    @property
    def non_member_uplift_pence(self) -> int:
        """What the order costs over the member price: charged units × the uplift per unit
        (the set-up charge is the same for everyone)."""
        if self.member_unit_price_pence is None:
            return 0
        return self.charged_quantity * (self.unit_price_pence - self.member_unit_price_pence)

    @property
    def units_pence(self) -> int:
        return self.charged_quantity * self.unit_price_pence

    @property
    def total_pence(self) -> int:
        return self.units_pence + self.setup_pence


def quote(
    quantity: int,
    tiers: Sequence[Tier],
    *,
    entitlement_left: int = 0,
    contract_unit_price_pence: int | None = None,
    setup_pence: int = 0,
    non_member_uplift_bp: int = 0,
    non_member_prices: Sequence[Tier] = (),
) -> Quote:
    """Price `quantity` units: entitlement first at £0, then the contract price or the tier.

    The tier is chosen by the whole quantity ordered (the volume the provider delivers), and
    a contract price, when the school has one with this provider, replaces the tiers and the
    set-up charge. For a school that is not a member, `non_member_prices` (the offer's own
    non-member tiers, same bands) give the unit price; failing those, `non_member_uplift_bp`
    raises the tier's price by that share, rounded half up to the penny. Contract prices are
    never raised.
    """
    if quantity <= 0:
        raise PricingError("The quantity must be at least 1")
    if setup_pence < 0 or (contract_unit_price_pence is not None and contract_unit_price_pence < 0):
        raise PricingError("Prices cannot be negative")
    entitled = min(quantity, max(0, entitlement_left))
    charged = quantity - entitled
    member_price = None
    if contract_unit_price_pence is not None:
        unit_price, tier_min, source, setup = (
            contract_unit_price_pence,
            None,
            PriceSource.CONTRACT,
            0,
        )
    else:
        tier = tier_for(tiers, quantity)
        unit_price, tier_min, source = tier.unit_price_pence, tier.min_quantity, PriceSource.OFFER
        setup = setup_pence if charged > 0 else 0
        if non_member_prices:
            member_price = unit_price
            unit_price = tier_for(non_member_prices, quantity).unit_price_pence
        elif non_member_uplift_bp:
            member_price = unit_price
            unit_price = non_member_price(unit_price, non_member_uplift_bp)
    if charged == 0:
        source = PriceSource.ENTITLEMENT
    return Quote(
        quantity=quantity,
        entitled_quantity=entitled,
        unit_price_pence=unit_price,
        setup_pence=setup,
        source=source,
        tier_min_quantity=tier_min,
        member_unit_price_pence=member_price,
    )


@dataclass(frozen=True)
class CancellationRules:
    """An offer's notice period (calendar days) and admin charge (basis points of the value)."""

    notice_days: int
    admin_charge_bp: int


@dataclass(frozen=True)
class Settlement:
    """What cancelling an order costs the school.

    `charge_pence` = `used_pence` (the part of the term inside the notice period, pro rata by
    calendar day) + `admin_pence` (the admin charge, capped at what is left); `refund_pence`
    is the rest of the order's value, which the school is not charged.
    """

    allowed: bool
    reason: str
    total_pence: int
    used_pence: int
    admin_pence: int
    notice_ends_on: date

    @property
    def charge_pence(self) -> int:
        return self.used_pence + self.admin_pence

    @property
    def refund_pence(self) -> int:
        return self.total_pence - self.charge_pence


def settle_cancellation(
    total_pence: int,
    *,
    confirmed: bool,
    rules: CancellationRules,
    term_starts_on: date,
    term_ends_on: date,
    cancelled_on: date,
) -> Settlement:
    """The rule for cancelling an order for one term.

    - Not yet confirmed by the provider: free, whatever the date.
    - Confirmed: notice runs for `notice_days` from the day of cancelling. The school pays
      for the days of the term that fall inside the notice period (pro rata by calendar day)
      and the admin charge on the order value; the rest is refunded (not charged).
    - If the notice period would run past the end of the term, cancelling is refused: the
      whole order stands.
    """
    if total_pence < 0 or rules.notice_days < 0 or not 0 <= rules.admin_charge_bp <= 10_000:
        raise PricingError("Cancellation inputs out of range")
    if term_ends_on < term_starts_on:
        raise PricingError("The term ends before it starts")
    notice_ends_on = cancelled_on + timedelta(days=rules.notice_days)
    if not confirmed:
        reason = "Not yet confirmed by the provider: cancelling is free."
        return Settlement(True, reason, total_pence, 0, 0, notice_ends_on)
    if notice_ends_on > term_ends_on:
        return Settlement(
            False,
            f"This offer needs {rules.notice_days} days’ notice, which would run past the end of "
            f"the term on {term_ends_on:%-d %B %Y}: the order can no longer be cancelled.",
            total_pence,
            total_pence,
            0,
            notice_ends_on,
        )
    term_days = (term_ends_on - term_starts_on).days + 1
    used_days = min(term_days, max(0, (notice_ends_on - term_starts_on).days))
    used = half_up(total_pence * used_days, term_days)
    admin = min(total_pence - used, half_up(total_pence * rules.admin_charge_bp, 10_000))
    if used_days:
        reason = (
            f"{used_days} of the term’s {term_days} days fall inside the {rules.notice_days}-day "
            "notice period and are charged pro rata"
        )
    else:
        reason = "Cancelled with enough notice: the order is refunded pro rata in full"
    reason += f", less the {rules.admin_charge_bp / 100:g}% admin charge." if admin else "."
    return Settlement(True, reason, total_pence, used, admin, notice_ends_on)


def typical_quantity(*, last_ordered: int | None, min_quantity: int, tiers: Sequence[Tier]) -> int:
    """The quantity a school is shown prices for: what it last ordered of the service, else the
    offer's minimum order (never below the smallest tier's minimum, nor below 1)."""
    if last_ordered is not None and last_ordered > 0:
        return last_ordered
    smallest_tier = min((tier.min_quantity for tier in tiers), default=1)
    return max(1, min_quantity, smallest_tier)


@dataclass(frozen=True)
class PriceAtQuantity:
    """What one unit costs at `quantity` (all-units tiers), and the lowest unit price of the
    offer with the quantity that reaches it. Excludes VAT and any set-up charge."""

    quantity: int
    unit_price_pence: int
    lowest_unit_price_pence: int
    lowest_from_quantity: int

    @property
    def is_lowest(self) -> bool:
        """The quantity already reaches the lowest price (no "from" to show)."""
        return self.unit_price_pence <= self.lowest_unit_price_pence


def price_at_quantity(tiers: Sequence[Tier], quantity: int) -> PriceAtQuantity:
    """The unit price at `quantity`, with the cheapest tier and the quantity it starts at
    (quantities below the smallest tier are priced at the smallest tier's minimum)."""
    if not tiers:
        raise PricingError("This offer has no prices")
    smallest = min(tier.min_quantity for tier in tiers)
    tier = tier_for(tiers, max(quantity, smallest, 1))
    cheapest = min(tiers, key=lambda t: (t.unit_price_pence, t.min_quantity))
    return PriceAtQuantity(
        quantity=max(quantity, smallest, 1),
        unit_price_pence=tier.unit_price_pence,
        lowest_unit_price_pence=cheapest.unit_price_pence,
        lowest_from_quantity=max(1, cheapest.min_quantity),
    )
