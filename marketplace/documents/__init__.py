"""Documents for schools: PDFs of invoices, credit notes and order confirmations, and a CSV of
the school's orders for its finance system with the finance (CFR) code it gives each service."""
