"""Contract pages, on the procurement blueprint, in a module per part: `register` (the
contracts register and a contract's page). Importing this package registers every route."""

from procurement.contracts.views import register  # noqa: F401
