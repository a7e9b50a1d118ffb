"""The seam through which awarded contracts price a school's order.

A school that takes part in an active contract for a service pays the contract's price instead
of the offer's tiers. Contracts belong to procurement, which the marketplace does not import:
the app factory installs procurement's contract register here
(`procurement.contracts.prices.ContractRegisterPrices`). Until one is installed, no order is
priced under a contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from app.calendar import Term


@dataclass(frozen=True)
class ContractPrice:
    contract_id: int
    reference: str
    provider_name: str
    unit_price_pence: int


class ContractPrices(Protocol):
    def price_for(
        self,
        school_id: int,
        service_id: int,
        provider_id: int,
        term: Term,
        quantity: int,
        *,
        lock: bool = False,
    ) -> ContractPrice | None:
        """The school's active contract price with this provider for this service and term,
        while the contract has room left for the quantity (its capacity and maximum value);
        lock: hold the contract's row until the transaction ends, so that orders submitted at
        once count each other."""

    def for_school(self, school_id: int, service_id: int, today: date) -> list[ContractPrice]:
        """The school's active contracts for a service (any provider)."""

    def reference(self, contract_id: int) -> str:
        """A contract's reference, as invoices name it."""


class NoContracts:
    """No contract register installed: nothing is priced under a contract."""

    def price_for(
        self,
        school_id: int,
        service_id: int,
        provider_id: int,
        term: Term,
        quantity: int,
        *,
        lock: bool = False,
    ) -> ContractPrice | None:
        return None

    def for_school(self, school_id: int, service_id: int, today: date) -> list[ContractPrice]:
        return []

    def reference(self, contract_id: int) -> str:
        return str(contract_id)


_installed: ContractPrices = NoContracts()


def install(prices: ContractPrices) -> None:
    """Called once by the app factory with procurement's contract register."""
    global _installed
    _installed = prices


def contract_prices() -> ContractPrices:
    return _installed
