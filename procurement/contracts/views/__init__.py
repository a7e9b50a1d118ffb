"""Contract pages, on the procurement blueprint, in a module per part: `register` (the
contracts register and a contract's page), `calloffs` (calling off under a contract and its
drawdown). Importing this package registers every route."""

from procurement.contracts.views import calloffs, register  # noqa: F401
