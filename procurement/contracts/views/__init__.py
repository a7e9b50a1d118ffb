"""Contract pages, on the procurement blueprint, in a module per part: `register` (the
contracts register and a contract's page), `amendments` (changes and termination), `calloffs`
(calling off under a contract and its drawdown). Importing this package registers every route."""

from procurement.contracts.views import amendments, calloffs, register  # noqa: F401
