"""Dashboard fixtures: the marketplace's committed world, so orders can be placed."""

from tests.marketplace.conftest import login, market  # noqa: F401
