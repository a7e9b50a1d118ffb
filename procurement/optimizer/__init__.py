"""The pooled-buying aggregator, a pure package (the standard library, PuLP and highspy only).

`python -m procurement.optimizer INSTANCE.json` solves an instance from the command line;
docs/aggregator.md describes the formats, the model and the sharing rule.
"""
