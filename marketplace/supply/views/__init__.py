"""The supply service's pages, by stage: requests and proposals, bookings and timesheets,
and the public vacancies board. Each module adds its routes to the marketplace blueprint."""

from marketplace.supply.views import bookings, contracts, requests, vacancies  # noqa: F401
