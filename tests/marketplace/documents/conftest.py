"""Billing's fixtures, for documents made from invoices."""

from tests.marketplace.billing.conftest import no_stripe  # noqa: F401  (a fixture)
