"""`flask setup`: an empty database's first step, the partnership's settings and its first
admin's invitation."""

from __future__ import annotations

import sqlalchemy as sa

from app import accounts, partnership
from app.errors import Conflict
from app.extensions import db
from app.models import Role, User
from app.use_case import use_case


@use_case
def setup(partnership_name: str, admin_email: str, admin_name: str = "") -> tuple[User, str]:
    """An empty database's first step: the settings row and an invitation for the first admin
    (emailed; the link is returned too). Refuses, writing nothing, once anyone is set up."""
    if partnership.current_settings() is not None:
        raise Conflict("This partnership is already set up: sign in as an admin instead.")
    if db.session.scalar(sa.select(User.id).where(User.role == Role.ADMIN).limit(1)):
        raise Conflict("This database already has an admin: sign in as them instead.")
    email = admin_email.strip()
    name = admin_name.strip() or email.split("@")[0]
    partnership.create_row(partnership.config_defaults(partnership_name), None)
    # invite_user checks the address and commits the settings with the invitation; if it
    # refuses, its rollback takes the settings row away too.
    return accounts.invite_user(name=name, email=email, role=Role.ADMIN)
