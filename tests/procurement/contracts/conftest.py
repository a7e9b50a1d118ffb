"""Contracts' fixtures: the marketplace's committed world with orderable offers (`market`),
for call-offs priced (or no longer priced) under a contract."""

from tests.marketplace.conftest import market  # noqa: F401
