"""Tender pages: the committee runs competitions, providers bid, everyone reads the notices.

The routes are on the procurement blueprint, in a module per stage: `lists` (the list, the
tender page, its trail, downloads, OCDS notices), `drafting` (the committee drafts, publishes,
cancels, answers clarifications), `bids` (providers' sealed bids and questions) and
`evaluation` (opening, evaluation, award, contracts); `common` holds what they share. Importing
this package registers every route.
"""

from procurement.tenders.views import bids, drafting, evaluation, lists  # noqa: F401
