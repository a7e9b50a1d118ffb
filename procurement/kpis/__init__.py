"""Contract KPIs: targets, quarterly returns from providers, computed figures, and the
committee's actions when a KPI falls below its target."""
