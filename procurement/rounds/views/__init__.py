"""Buying-round pages on the procurement blueprint, by stage.

`rounds`: the list, opening a round and the round page, with the committee's actions on it;
`pledging`: a school's pledges, what it got, and its notices; `runs`: running the aggregator, a
run's page and files, and the award.
"""

from procurement.rounds.views import pledging, rounds, runs  # noqa: F401  (their routes)
