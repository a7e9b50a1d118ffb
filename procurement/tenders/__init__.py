"""Tenders: the committee's competitions, from draft to contract, with sealed bids.

The use cases, by stage: `drafting` (the tender, its lots and questions), `changes` (what a
change to an open tender sets in motion), `publication` (publish, cancel), `clarifications`,
`bids` (providers' sealed bids) and `documents`, `opening` (two-person opening, compliance, the
start of evaluation), `evaluation` (declarations, scores, moderation, ranking), `award` (the
award decision, the standstill, contracts, completion). `access` loads a tender for who may see
it and holds what every stage writes; `reading` gathers what the pages show. Pure: `scoring`
(the arithmetic) and `rules` (the timetable). `ocds` publishes the notices; `views` is the
package of pages.

Every public use case takes `now` (one instant per request; tests inject it), checks the stage
the tender is at *at that instant*, writes an audit event in scope ``tender:<id>`` and commits
once at its end; a refused one writes nothing. Sealed bids: nothing tells anyone but the bidder
whether a bid exists until two committee members have opened the bids.
"""
