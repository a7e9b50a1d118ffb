"""The shape of the code, kept true by reading the source with `ast`.

Imports point one way: the app's composition layer (the factory, CLI registration, home,
dashboards, demo) → `procurement` → `marketplace` → the app's core (config, extensions, models
of users and schools, money, time, audit, errors, …). Pure modules import the standard library,
their solver and other pure modules only. Only the billing adapter imports `stripe`.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "marketplace", "procurement")

# The app's composition layer (with the queue consumer's entry point): it wires the domains
# together and may import anything.
COMPOSITION = (
    "app",
    "app.cli",
    "app.worker",
    "app.home",
    "app.guidance",
    "app.dashboards",
    "app.demo",
)

# Pure modules: no Flask, no SQLAlchemy, no database; the standard library, their solver and
# each other only.
PURE = (
    "app.money",
    "app.uploads",
    "app.time",
    "app.calendar",
    "app.membership",
    "app.gias",
    "app.dashboards.charts",
    "marketplace.offers.pricing",
    "marketplace.orders.rules",
    "marketplace.billing.rules",
    "marketplace.billing.stripe_objects",
    "marketplace.supply.rules",
    "marketplace.supply.awr",
    "marketplace.catalogue.words",
    "marketplace.documents.codes",
    "marketplace.providers.rules",
    "marketplace.ratings.rules",
    "marketplace.payouts.rules",
    "marketplace.payouts.bankfile",
    "procurement.optimizer",
    "procurement.tenders.scoring",
    "procurement.tenders.rules",
    "procurement.minicomps.rules",
    "procurement.rounds.rules",
    "procurement.contracts.rules",
    "procurement.pipeline.rules",
    "procurement.pipeline.presenters",
    "procurement.kpis.rules",
)
PURE_THIRD_PARTY = {
    "procurement.optimizer": {"pulp", "highspy", "numpy"},
    "app.calendar": {"holidays"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_modules() -> dict[str, Path]:
    return {
        module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    }


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, at any depth (inside functions too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from app import demo` imports the module app.demo
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def layer(module: str) -> str | None:
    """composition > procurement > marketplace > core; None for outside the project."""
    top = module.split(".")[0]
    if top not in PACKAGES:
        return None
    if top == "app":
        if module == "app" or within(module, COMPOSITION[1:]):
            return "composition"
        return "core"
    return top


RANK = {"core": 0, "marketplace": 1, "procurement": 2, "composition": 3}


def test_imports_point_one_way():
    modules = source_modules()
    wrong = []
    for name, path in sorted(modules.items()):
        own = layer(name)
        for line, imported in imports_of(path):
            target = layer(imported)
            if target is None or own is None or imported in PACKAGES:
                continue  # `from app import audit` loads the package on the way to app.audit
            if imported not in modules and imported.rsplit(".", 1)[0] in modules:
                # `from app.models import Role` names a class, not a module
                target = layer(imported.rsplit(".", 1)[0])
            if target is not None and RANK[target] > RANK[own]:
                where = f"{path.relative_to(ROOT)}:{line}"
                wrong.append(f"{where} ({own}) imports {imported} ({target})")
    assert wrong == []


def test_the_layers_are_what_this_test_says():
    assert layer("app.money") == "core"
    assert layer("app.dashboards.views") == "composition"
    assert layer("app") == "composition"
    assert layer("marketplace.orders.drafting") == "marketplace"
    assert layer("procurement.rounds.pledges") == "procurement"
    assert layer("flask") is None


def _pure_files() -> list[Path]:
    modules = source_modules()
    return [path for name, path in sorted(modules.items()) if within(name, PURE)]


@pytest.mark.parametrize("path", _pure_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_modules_import_the_standard_library_their_solver_and_each_other(path):
    name = module_name(path)
    allowed = set(sys.stdlib_module_names) | {"__future__"}
    for prefix, extra in PURE_THIRD_PARTY.items():
        if within(name, (prefix,)):
            allowed |= extra
    wrong = []
    for line, imported in imports_of(path):
        top = imported.split(".")[0]
        if top in PACKAGES:
            # the package itself (`app`, to reach a pure submodule) or another pure module
            if (
                imported in PACKAGES
                or within(imported, PURE)
                or within(imported.rsplit(".", 1)[0], PURE)
            ):
                continue
            wrong.append(f"line {line}: {imported}")
        elif top not in allowed:
            wrong.append(f"line {line}: {imported}")
    assert wrong == []


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_load_without_flask_or_sqlalchemy(module):
    code = (
        f"import sys, {module}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'sqlalchemy', 'flask_sqlalchemy', 'werkzeug', 'marketplace', 'procurement') "
        f"and not m.startswith({module.split('.')[0]!r}))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == ""


def test_only_the_billing_adapter_imports_stripe():
    importers = sorted(
        name
        for name, path in source_modules().items()
        if any(imported.split(".")[0] == "stripe" for _, imported in imports_of(path))
    )
    assert importers == ["marketplace.billing.stripe_gateway"]


def test_nothing_in_the_app_imports_the_tests_or_localstripe():
    wrong = [
        f"{name} imports {imported}"
        for name, path in source_modules().items()
        for _, imported in imports_of(path)
        if imported.split(".")[0] in ("tests", "localstripe")
    ]
    assert wrong == []


LONG = 500  # lines: a module longer than this says why in its docstring
LONG_BECAUSE = "Longer than 500 lines because"


def test_no_module_is_over_500_lines_without_a_stated_reason():
    too_long = []
    for name, path in sorted(source_modules().items()):
        text = path.read_text()
        if text.count("\n") <= LONG:
            continue
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if LONG_BECAUSE not in docstring:
            too_long.append(f"{name}: {text.count(chr(10))} lines")
    assert too_long == []


# Long work runs as a queued job: nothing in the app starts a thread or a background process,
# except the queue's consumer (the lease heartbeat) and command-line tools.
STARTS_IN_BACKGROUND = frozenset(
    {
        "Thread",
        "Timer",
        "Popen",
        "Process",
        "fork",
        "forkpty",
        "start_new_thread",
        "ThreadPoolExecutor",
        "ProcessPoolExecutor",
        "Pool",
    }
)
MAY_START_IN_BACKGROUND = ("app.jobs.queue", "app.worker")


def _starts_in_background(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr in STARTS_IN_BACKGROUND:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom):
            found += [
                f"line {node.lineno}: from {node.module} import {alias.name}"
                for alias in node.names
                if alias.name in STARTS_IN_BACKGROUND
            ]
    return found


def test_no_thread_or_process_is_started_outside_the_consumer_and_the_command_line():
    wrong = [
        f"{name} {where}"
        for name, path in sorted(source_modules().items())
        if not (within(name, MAY_START_IN_BACKGROUND) or name.split(".")[-1] == "cli")
        for where in _starts_in_background(path)
    ]
    assert wrong == []


def test_the_background_check_finds_a_thread_and_a_process(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import threading, subprocess\n"
        "from multiprocessing import Process\n"
        "threading.Thread(target=print).start()\n"
        "subprocess.Popen(['true'])\n"
    )
    assert sorted(_starts_in_background(sample)) == [
        "line 2: from multiprocessing import Process",
        "line 3: .Thread",
        "line 4: .Popen",
    ]
