"""Buying rounds: open a pool, take pledges, run the aggregator, award contracts and call-offs.

The life of a round: draft → open (schools pledge until the deadline) → closed (the first run
is queued) → run (a run found an allocation; the committee may change the rules and run again)
→ awarded; or cancelled before the award.

The use cases and queries, by stage (import each name from the module that defines it):
`access` (loading, scoped to who asks), `lots` (a service in a term), `lifecycle` (set up, open,
close pledging, cancel, change the rules), `pledges`, `inputs` (the optimizer instance),
`estimates` (indicative prices while pledging), `runs` (queue and solve), `answers` (reading a
run's result), `award` (contracts and call-offs) and `notices` (what schools are told).
Every public use case commits once at its end, or writes nothing when it refuses.
"""
