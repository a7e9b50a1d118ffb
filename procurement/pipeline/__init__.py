"""The renewal pipeline: contracts ending in the next 18 months and what the committee decides
for each (extend, re-tender, run a buying round, let lapse); reminders before they end; drafts
of the next tender or round prefilled from a contract; and contracts schools hold outside the
partnership, lined up as candidates for a joint tender."""
