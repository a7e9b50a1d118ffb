"""The aggregator is pure: it loads the standard library and its solver only."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

BASELINE = "import json, sys; print(json.dumps(sorted(sys.modules)))"

PROBE = """
import json, sys
from procurement.optimizer import instance_from_json, solve
instance = instance_from_json({
    "schools": [{"id": "S1"}],
    "demand": [{"school": "S1", "service": "counselling", "quantity": 3}],
    "offers": [{"id": "O1", "provider": "P1", "service": "counselling", "capacity": 9,
                "tiers": [{"from": 0, "unit_price_pence": 100}]}],
})
for solver in ("highs", "cbc"):
    assert solve(instance, solver=solver).objective_pence == 300
print(json.dumps(sorted(sys.modules)))
"""


def modules_after(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return set(json.loads(done.stdout))


def loaded_modules() -> set[str]:
    """Modules the optimizer brought in, beyond what a bare interpreter has loaded already."""
    return modules_after(PROBE) - modules_after(BASELINE)


def test_the_optimizer_never_imports_flask_sqlalchemy_or_the_app():
    modules = loaded_modules()
    for forbidden in ("flask", "sqlalchemy", "flask_sqlalchemy", "werkzeug", "marketplace"):
        assert forbidden not in modules
        assert not any(name.startswith(forbidden + ".") for name in modules)
    # Not even the pure money module: the optimizer keeps its own largest-remainder split.
    assert {name for name in modules if name == "app" or name.startswith("app.")} == set()


def test_the_optimizer_loads_only_the_standard_library_pulp_and_highspy():
    top_level = {name.split(".")[0] for name in loaded_modules()}
    # numpy comes in with highspy, which needs it; the polish (polish.py) uses it too.
    allowed = set(sys.stdlib_module_names) | {"pulp", "highspy", "numpy", "procurement"}
    assert sorted(top_level - allowed) == []
    procurement = {name for name in loaded_modules() if name.startswith("procurement.")}
    assert procurement == {
        "procurement.optimizer",
        "procurement.optimizer.charges",
        "procurement.optimizer.heuristic",
        "procurement.optimizer.instance",
        "procurement.optimizer.model",
        "procurement.optimizer.polish",
        "procurement.optimizer.result",
        "procurement.optimizer.running",
        "procurement.optimizer.solve",
    }
