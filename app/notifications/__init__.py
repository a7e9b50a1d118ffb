"""Telling people what happened: email through an outbox, in-app notifications, preferences.

Domains call `notify(...)` (services.py) inside their use case: the in-app notification and
the outbox row are written in the same transaction as the event, with a unique key per event
and recipient, and the email is sent by a task after the commit (delivery.py). Without
MAIL_SERVER every email is written as an .eml file under instance/mail/ instead.
"""
