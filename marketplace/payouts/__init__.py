"""Paying providers: the payments the partnership sends out, recorded by hand or imported from
its bank's CSV, set against what each provider is owed (marketplace.billing.payables) so that
each provider sees what is paid, due and overdue, and the partnership what it owes."""
