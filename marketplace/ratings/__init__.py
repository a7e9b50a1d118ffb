"""Ratings of delivered work: a school rates an order or an approved timesheet week once, the
provider replies once, publicly, and everyone sees averages only from three ratings up."""
