"""Contract pages, on the procurement blueprint, in a module per part: `register` (the
contracts register and a contract's page), `amendments` (changes and termination). Importing
this package registers every route."""

from procurement.contracts.views import amendments, register  # noqa: F401
