"""Pure modules import the standard library (and their solver) only: never Flask or the app."""

import subprocess
import sys

import pytest

PURE_MODULES = ["app.money", "app.calendar", "app.membership", "app.gias"]


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_do_not_pull_in_flask_or_sqlalchemy(module):
    code = (
        f"import sys, {module}\n"
        "bad = sorted(m for m in ('flask', 'sqlalchemy', 'flask_sqlalchemy') if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
