"""Benchmark the aggregator on seeded, realistic rounds (issues 4 and 20, docs/aggregator.md).

    python -m bench.aggregator --size elp|1k|10k|all [--seed N] [--solver highs|cbc]
        [--rules default|committee|single-source|strict|all] [--repeats N]
        [--baseline-time-limit SECONDS] [--no-baseline] [--all-in-one]
        [--merged-time-limit SECONDS] [--no-heuristic] [--blocks N]
        [--output bench/results/aggregator.json]

Two models solve the same seeded instance, each run in a fresh subprocess (so peak memory is the
run's own), interleaved (merged, baseline, merged, baseline, ...) so that both see the same load:

- merged: procurement.optimizer.solve, schools merged into types;
- school-level (the fair baseline): solve(instance, merge=False), the same code path with one
  type per school: per service, with the same phases, bands, gap and time-limit sharing, so the
  only difference is merging;
- all-in-one (--all-in-one, a second reference only): solve_plain, one type per school and every
  service in a single MIP;
- no-heuristic (--no-heuristic, issue 18): the merged model without the heuristic allocation it
  starts from, i.e. the code before issue 18, with the merged model's time limit.

The ratio is the baseline's median total over the merged model's median total; when both are
optimal their objectives must agree (within the optimality gap), or the bench fails. Rows are
merged into the output file by size and rules, so sizes can be re-measured one at a time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from procurement.optimizer import (
    Demand,
    Instance,
    Offer,
    Rules,
    School,
    Tier,
    instance_to_json,
    solve,
    solve_plain,
)
from procurement.optimizer.running import OPTIMALITY_GAP

ROOT = Path(__file__).resolve().parent.parent

# The committee's side constraints from DESIGN.md §4: no offer above 60% of a lot, at least two
# providers, and (optionally) one provider per school and service for continuity.
RULES = {
    "default": Rules(),
    "committee": Rules(max_share=0.6, min_providers=2),
    "single-source": Rules(single_source=True),
    "strict": Rules(max_share=0.6, min_providers=2, single_source=True),
}
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "aggregator.json"


@dataclass(frozen=True)
class Size:
    """Schools × services × providers × tiers, the targets, and the runs per comparison."""

    name: str
    schools: int
    services: int
    providers: int
    tiers: int
    target_seconds: float
    target_memory_mib: float | None
    target_ratio: float | None
    repeats: int


# Issue 20's targets: the merged model at least 10× the fair baseline at 1k and 30× at 10k.
SIZES = {
    "elp": Size("elp", 92, 12, 25, 5, 1.0, None, None, 3),
    "1k": Size("1k", 1000, 20, 50, 5, 5.0, None, 10.0, 3),
    "10k": Size("10k", 10_000, 20, 100, 5, 60.0, 2048.0, 30.0, 1),
}
# Every baseline gets 600 s: enough for the school-level model to finish at 10k (about 90 s).
BASELINE_TIME_LIMIT = 600.0
MODELS = ("merged", "no-heuristic", "school-level", "all-in-one")
# Issue 18's targets under the committee's side rules (single-source, strict): optimal within
# 10 s at 1k; at 10k every service allocated, unmet units equal to their proven lower bound, a
# proven cost gap of at most 0.5%, within 60 s and 2 GiB.
RULE_TARGETS = {"1k": {"total_seconds": 10.0}, "10k": {"total_seconds": 60.0, "gap": 0.005}}
RULE_TARGETED = ("single-source", "strict")


@dataclass(frozen=True)
class Service:
    """A service from DESIGN.md §7: unit price range (pence), pledge range and take-up."""

    id: str
    low_pence: int
    high_pence: int
    low_quantity: int
    high_quantity: int
    take_up: float


# Prices and units from DESIGN.md §7 (England, 2019–2026). Quantities are a year's pledge.
SERVICES = (
    Service("counselling-day", 17_000, 30_000, 10, 40, 0.6),
    Service("educational-psychology-day", 39_300, 56_500, 3, 20, 0.5),
    Service("supply-primary-day", 19_000, 24_000, 20, 150, 0.5),
    Service("ect-appropriate-body", 15_000, 25_000, 1, 6, 0.5),
    Service("governance-clerking-package", 240_000, 360_000, 1, 1, 0.4),
    Service("speech-language-hour", 6_000, 12_000, 20, 150, 0.4),
    Service("hr-advisory-head", 4_800, 6_000, 20, 200, 0.5),
    Service("payroll-payslip", 400, 480, 240, 2_400, 0.5),
    Service("risk-protection-pupil", 1_600, 2_000, 100, 1_500, 0.4),
    Service("supply-secondary-day", 26_000, 32_000, 40, 300, 0.2),
    Service("speech-language-day", 36_000, 72_000, 5, 30, 0.3),
    Service("supply-agency-fee-day", 3_200, 5_500, 20, 300, 0.3),
    Service("governance-clerking-meeting", 27_600, 43_000, 1, 4, 0.3),
    Service("counselling-supervised-day", 30_000, 42_000, 5, 20, 0.2),
    Service("supply-special-day", 24_000, 30_000, 20, 120, 0.08),
    Service("educational-psychology-assessment-day", 39_300, 56_500, 2, 10, 0.3),
    Service("counselling-group-day", 17_000, 30_000, 5, 20, 0.3),
    Service("speech-language-assessment-hour", 6_000, 12_000, 5, 40, 0.3),
    Service("supply-direct-day", 13_600, 15_000, 20, 150, 0.2),
    Service("hr-casework-head", 4_800, 6_000, 20, 200, 0.2),
)


def generate(size: Size, seed: int, rules: str = "default", blocks: int = 1) -> Instance:
    """A seeded round: schools in 6–8 areas, providers serving some areas, all-units tiers.

    blocks > 1: the round's standard quantity (issue 18): every pledge rounded up to a whole
    number of blocks, as a round asking schools to pledge in blocks would have it; the random
    draws are the same, so the rest of the round is unchanged."""
    rng = random.Random(f"{size.name}-{seed}")
    services = SERVICES[: size.services]
    areas = rng.randint(6, 8)
    area_weights = [rng.uniform(0.6, 1.6) for _ in range(areas)]
    schools = [f"S{n:05d}" for n in range(1, size.schools + 1)]
    school_area = {s: rng.choices(range(areas), weights=area_weights)[0] for s in schools}
    school_scale = {s: rng.choice((0.5, 0.7, 1.0, 1.0, 1.3, 2.0)) for s in schools}

    demand: list[Demand] = []
    area_demand: dict[tuple[str, int], int] = {}
    for school in schools:
        for service in services:
            if rng.random() >= service.take_up:
                continue
            base = rng.randint(service.low_quantity, service.high_quantity)
            quantity = max(1, round(base * school_scale[school]))
            if service.low_quantity == service.high_quantity:
                quantity = service.low_quantity
            quantity = -(-quantity // blocks) * blocks
            demand.append(Demand(school, service.id, quantity))
            key = (service.id, school_area[school])
            area_demand[key] = area_demand.get(key, 0) + quantity

    providers = [f"P{n:03d}" for n in range(1, size.providers + 1)]
    provider_areas: dict[str, frozenset[int]] = {}
    provider_services: dict[str, list[Service]] = {}
    for n, provider in enumerate(providers):
        if rng.random() < 0.4:
            provider_areas[provider] = frozenset(range(areas))
        else:
            provider_areas[provider] = frozenset(rng.sample(range(areas), rng.randint(2, 5)))
        first = services[n % len(services)]
        extra = rng.sample(list(services), rng.randint(1, 4))
        provider_services[provider] = sorted({first, *extra}, key=lambda s: s.id)
    # A few per cent of schools refuse one provider (a past dispute, a safeguarding concern).
    refusals: dict[str, set[str]] = {p: set() for p in providers}
    for school in schools:
        if rng.random() < 0.03:
            refusals[rng.choice(providers)].add(school)

    offers: list[Offer] = []
    anchored: set[str] = set()
    for provider in providers:
        served = provider_areas[provider]
        for service in provider_services[provider]:
            reach = sum(area_demand.get((service.id, a), 0) for a in served)
            typical = (service.low_quantity + service.high_quantity) // 2
            regional = len(served) == areas
            if regional and service.id not in anchored:
                capacity = reach + reach // 5 + 10
                anchored.add(service.id)
            elif rng.random() < 0.5:
                capacity = max(typical, round(reach * rng.uniform(0.15, 0.8)))
            else:
                capacity = reach + reach // 2 + 10
            price = rng.randint(service.low_pence, service.high_pence)
            breaks = sorted(
                {max(1, round(reach * rng.uniform(0.02, 0.6))) for _ in range(rng.randint(2, 4))}
            )
            tiers = [Tier(0, price)]
            for start in breaks[: size.tiers - 1]:
                price = round(price * (1 - rng.uniform(0.02, 0.08)))
                tiers.append(Tier(start, price))
            min_award = typical * rng.randint(2, 6) if rng.random() < 0.25 else 0
            setup = rng.randint(200, 2_500) * 100 if rng.random() < 0.3 else 0
            excluded = frozenset(
                s for s in schools if school_area[s] not in served or s in refusals[provider]
            )
            offers.append(
                Offer(
                    id=f"{provider}-{service.id}",
                    provider=provider,
                    service=service.id,
                    capacity=capacity,
                    tiers=tuple(tiers),
                    min_award=min_award,
                    setup_pence=setup,
                    excluded_schools=excluded,
                )
            )
    for service in services:
        if service.id not in anchored:  # every service gets one region-wide offer with room
            reach = sum(area_demand.get((service.id, a), 0) for a in range(areas))
            price = service.high_pence
            offers.append(
                Offer(
                    id=f"P000-{service.id}",
                    provider="P000",
                    service=service.id,
                    capacity=reach + reach // 5 + 10,
                    tiers=(Tier(0, price), Tier(max(1, reach // 4), round(price * 0.95))),
                )
            )
    return Instance(
        schools=tuple(School(s) for s in schools),
        demand=tuple(demand),
        offers=tuple(offers),
        rules=RULES[rules],
    )


def fingerprint(instance: Instance) -> str:
    """A short hash of the instance, to show both models solved the same round."""
    text = json.dumps(instance_to_json(instance), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def peak_mib() -> dict[str, float]:
    """Peak resident memory of this process and of its finished children (e.g. CBC), in MiB."""
    scale = 1024 if sys.platform != "darwin" else 1024 * 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / scale
    return {"self": round(own, 1), "children": round(children, 1)}


def measure(
    size: Size,
    seed: int,
    rules: str,
    model: str,
    solver: str,
    time_limit: float | None,
    blocks: int = 1,
) -> dict:
    """Generate the instance and solve it with one model, in this (fresh) process."""
    started = time.perf_counter()
    instance = generate(size, seed, rules, blocks)
    generated = time.perf_counter() - started
    if model == "merged":
        result = solve(instance, solver=solver, time_limit=time_limit)
    elif model == "no-heuristic":
        result = solve(instance, solver=solver, time_limit=time_limit, use_heuristic=False)
    elif model == "school-level":
        result = solve(instance, solver=solver, time_limit=time_limit, merge=False)
    else:
        result = solve_plain(instance, solver=solver, time_limit=time_limit)
    return {
        "model": model,
        "instance": fingerprint(instance),
        "generate_seconds": round(generated, 3),
        "status": result.status,
        "message": result.message,
        "solver": result.solver,
        "time_limit_seconds": time_limit,
        "build_seconds": round(result.seconds.build, 3),
        "solve_seconds": round(result.seconds.solve, 3),
        "total_seconds": round(result.seconds.total, 3),
        "peak_mib": peak_mib(),
        "objective_pence": result.objective_pence,
        "bound_pence": result.bound_pence,
        "gap": result.gap,
        "heuristic_pence": result.heuristic_pence,
        "unmet_units": sum(u.quantity for u in result.unmet),
        "unmet_bound": result.unmet_bound,
        "demand_units": sum(d.quantity for d in instance.demand),
        "services_unallocated": sorted(
            {d.service for d in instance.demand if d.quantity > 0}
            - {a.service for a in result.awards}
        ),
        "charges_add_up": sum(c.charge_pence for c in result.charges) == result.objective_pence,
        "ir_violations": sum(len(c.violations) for c in result.checks),
        "model_size": None
        if result.model is None
        else {
            "merged": result.model.merged,
            "models": result.model.models,
            "solver_runs": result.model.solver_runs,
            "groups": result.model.groups,
            "columns": result.model.columns,
            "integer_columns": result.model.integer_columns,
            "rows": result.model.rows,
        },
        "counts": {
            "schools": len(instance.schools),
            "pledges": len(instance.demand),
            "offers": len(instance.offers),
            "providers": len({o.provider for o in instance.offers}),
            "services": len({o.service for o in instance.offers}),
            "max_tiers": max(len(o.tiers) for o in instance.offers),
        },
    }


def in_subprocess(
    size: Size,
    seed: int,
    rules: str,
    model: str,
    solver: str,
    limit: float | None,
    blocks: int = 1,
) -> dict:
    """Run measure() in a fresh interpreter so its peak memory belongs to this run alone."""
    command = [
        sys.executable,
        "-m",
        "bench.aggregator",
        "--child",
        model,
        "--size",
        size.name,
        "--seed",
        str(seed),
        "--rules",
        rules,
        "--solver",
        solver,
        "--blocks",
        str(blocks),
    ]
    if limit is not None:
        command += ["--time-limit", str(limit)]
    load = [round(x, 2) for x in os.getloadavg()]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    measured = json.loads(done.stdout)
    measured["load_average_before"] = load
    return measured


def baseline_columns(instance: Instance) -> int:
    """How many allocation columns the school-level model would have: one per pledge and offer."""
    offers: dict[str, list[Offer]] = {}
    for offer in instance.offers:
        offers.setdefault(offer.service, []).append(offer)
    return sum(
        1
        for pledge in instance.demand
        for offer in offers.get(pledge.service, [])
        if offer.serves(pledge.school)
    )


def same_objective(a: dict, b: dict) -> bool | None:
    """Whether two optimal runs agree on the objective within the optimality gap (None: unknown)."""
    if a["status"] != "optimal" or b["status"] != "optimal":
        return None
    x, y = a["objective_pence"], b["objective_pence"]
    return abs(x - y) <= OPTIMALITY_GAP * max(abs(x), abs(y), 1)


def median_run(runs: list[dict]) -> dict:
    """The run with the median total time (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda r: r["total_seconds"])
    return ordered[(len(ordered) - 1) // 2]


def run_size(
    size: Size,
    seed: int,
    rules: str,
    solver: str,
    *,
    repeats: int | None = None,
    baseline: bool = True,
    all_in_one: bool = False,
    baseline_limit: float = BASELINE_TIME_LIMIT,
    merged_limit: float | None = None,
    no_heuristic: bool = False,
    blocks: int = 1,
) -> dict:
    """Merged and baseline models interleaved, each in a fresh process; print and return the row.

    no_heuristic adds the merged model without the heuristic start (the code before issue 18),
    with the merged model's time limit, interleaved right after it."""
    models = (
        ["merged"]
        + (["no-heuristic"] if no_heuristic else [])
        + (["school-level"] if baseline else [])
        + (["all-in-one"] * all_in_one)
    )
    runs: dict[str, list[dict]] = {model: [] for model in models}
    for _ in range(repeats or size.repeats):
        for model in models:
            limit = merged_limit if model in ("merged", "no-heuristic") else baseline_limit
            runs[model].append(in_subprocess(size, seed, rules, model, solver, limit, blocks))
    merged = median_run(runs["merged"])
    row: dict = {
        "size": size.name,
        "rules": rules,
        "blocks": blocks,
        "rules_detail": instance_to_json(Instance((), (), (), RULES[rules]))["rules"],
        "shape": f"{size.schools} × {size.services} × {size.providers} × {size.tiers}",
        "seed": seed,
        "repeats": len(runs["merged"]),
        "load_averages": [r["load_average_before"] for model in models for r in runs[model]],
        "merged": merged,
        "merged_totals": [r["total_seconds"] for r in runs["merged"]],
        "targets": {
            "total_seconds": size.target_seconds,
            "peak_mib": size.target_memory_mib,
            "ratio": size.target_ratio,
        },
    }
    instances = {r["instance"] for model in models for r in runs[model]}
    row["same_instance"] = len(instances) == 1
    for model in models[1:]:
        key = {"school-level": "baseline", "no-heuristic": "no_heuristic"}.get(model, "all_in_one")
        median = median_run(runs[model])
        agree = [same_objective(r, m) for r in runs[model] for m in runs["merged"]]
        if False in agree:
            raise RuntimeError(
                f"{size.name} ({rules}): {model} and merged disagree on the objective:"
                f" {median['objective_pence']} p against {merged['objective_pence']} p"
            )
        row[key] = median
        row[f"{key}_totals"] = [r["total_seconds"] for r in runs[model]]
        row[f"{key}_same_objective"] = None if None in agree else True
        row[f"{key}_ratio"] = round(median["total_seconds"] / merged["total_seconds"], 1)
        # When the baseline stops at its time limit, the true ratio is larger still.
        row[f"{key}_ratio_is_lower_bound"] = median["status"] != "optimal"
    if not baseline:
        columns = baseline_columns(generate(size, seed, rules, blocks))
        row["baseline"] = None
        row["baseline_skipped"] = f"baseline skipped (--no-baseline): {columns:,} columns"
    peak = merged["peak_mib"]["self"] + merged["peak_mib"]["children"]
    within = merged["total_seconds"] <= size.target_seconds and (
        size.target_memory_mib is None or peak <= size.target_memory_mib
    )
    if baseline and size.target_ratio is not None:
        within = within and row["baseline_ratio"] >= size.target_ratio
        within = within and row["baseline_same_objective"] is True
    row["within_target"] = within if rules == "default" else None
    if rules in RULE_TARGETED and size.name in RULE_TARGETS:
        row["rule_targets"] = RULE_TARGETS[size.name]
        row["within_rule_targets"] = within_rule_targets(size, merged)
    print_row(row)
    return row


def within_rule_targets(size: Size, run: dict) -> bool:
    """Issue 18's targets for a run under single-source or strict rules (RULE_TARGETS)."""
    target = RULE_TARGETS[size.name]
    if run["total_seconds"] > target["total_seconds"]:
        return False
    if "gap" not in target:
        return bool(run["status"] == "optimal")
    peak = run["peak_mib"]["self"] + run["peak_mib"]["children"]
    return (
        not run["services_unallocated"]
        and run["unmet_units"] == run["unmet_bound"]
        and run["gap"] is not None
        and run["gap"] <= target["gap"]
        and size.target_memory_mib is not None
        and peak <= size.target_memory_mib
    )


def _describe(run: dict) -> str:
    size = run["model_size"]
    unallocated = len(run.get("services_unallocated", []))
    return (
        f"{run['status']}, build {run['build_seconds']} s, solve {run['solve_seconds']} s,"
        f" total {run['total_seconds']} s, peak {run['peak_mib']['self']} MiB"
        f" (+children {run['peak_mib']['children']}), objective {run['objective_pence']} p,"
        f" bound {run['bound_pence']} p, gap {run['gap']},"
        f" heuristic {run.get('heuristic_pence')} p, unmet {run['unmet_units']}"
        f" (proven at least {run.get('unmet_bound')}), {unallocated} services unallocated,"
        f" {size['groups']} types, {size['columns']} columns in {size['models']} models"
    )


def print_row(row: dict) -> None:
    """One human-readable block per size."""
    merged = row["merged"]
    print(
        f"== {row['size']} ({row['shape']}, seed {row['seed']}, rules {row['rules']}"
        f"{', pledges in blocks of ' + str(row['blocks']) if row.get('blocks', 1) > 1 else ''})"
        f" instance {merged['instance']}, {row['repeats']} interleaved runs,"
        f" load averages {row['load_averages']}"
    )
    print(f"   merged:       {_describe(merged)}; totals {row['merged_totals']}")
    for key, name in (
        ("no_heuristic", "no-heuristic"),
        ("baseline", "school-level"),
        ("all_in_one", "all-in-one"),
    ):
        run = row.get(key)
        if not run:
            continue
        print(f"   {name + ':':13} {_describe(run)}; totals {row[key + '_totals']}")
        bound = (
            " (at least: it stopped at its time limit)"
            if row[f"{key}_ratio_is_lower_bound"]
            else ""
        )
        print(
            f"   {name} / merged: {row[f'{key}_ratio']}×{bound}; objectives"
            f" {run['objective_pence']} p and {merged['objective_pence']} p, same objective"
            f" {row[f'{key}_same_objective']}, same instance {row['same_instance']}"
        )
    if row.get("baseline_skipped"):
        print(f"   {row['baseline_skipped']}")
    if "within_rule_targets" in row:
        print(f"   within issue 18's targets {row['rule_targets']}: {row['within_rule_targets']}")
    elif row["within_target"] is None:
        print("   (targets apply to the default rules)")
    else:
        print(f"   within target: {row['within_target']}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for the chosen sizes and rules and write the JSON results."""
    parser = argparse.ArgumentParser(prog="python -m bench.aggregator")
    parser.add_argument("--size", choices=[*SIZES, "all"], default="all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--solver", choices=("highs", "cbc"), default="highs")
    parser.add_argument("--rules", choices=[*RULES, "all"], default="default")
    parser.add_argument(
        "--repeats", type=int, default=None, help="interleaved runs per model (3, 1 at 10k)"
    )
    parser.add_argument("--baseline-time-limit", type=float, default=BASELINE_TIME_LIMIT)
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline")
    parser.add_argument(
        "--all-in-one", action="store_true", help="also run solve_plain (one MIP, a reference)"
    )
    parser.add_argument("--merged-time-limit", type=float, default=None)
    parser.add_argument(
        "--no-heuristic",
        action="store_true",
        help="also run the merged model without the heuristic start (before issue 18)",
    )
    parser.add_argument(
        "--blocks",
        type=int,
        default=1,
        help="pledges in whole blocks of this many units (a round's standard quantity)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--child", choices=MODELS, help=argparse.SUPPRESS)
    parser.add_argument("--time-limit", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        row = measure(
            SIZES[args.size],
            args.seed,
            args.rules,
            args.child,
            args.solver,
            args.time_limit,
            args.blocks,
        )
        json.dump(row, sys.stdout)
        return 0
    names = list(SIZES) if args.size == "all" else [args.size]
    variants = list(RULES) if args.rules == "all" else [args.rules]
    rows = [
        run_size(
            SIZES[name],
            args.seed,
            rules,
            args.solver,
            repeats=args.repeats,
            baseline=not args.no_baseline,
            all_in_one=args.all_in_one,
            baseline_limit=args.baseline_time_limit,
            merged_limit=args.merged_time_limit,
            no_heuristic=args.no_heuristic,
            blocks=args.blocks,
        )
        for rules in variants
        for name in names
    ]
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "solver": args.solver,
        "sizes": rows,
    }
    if args.output:
        existing = {}
        if args.output.exists():
            old = json.loads(args.output.read_text())["sizes"]
            existing = {(r["size"], r.get("rules", "default"), r.get("blocks", 1)): r for r in old}
        existing.update({(r["size"], r["rules"], r["blocks"]): r for r in rows})
        order = sorted(
            existing,
            key=lambda k: (k[2], list(RULES).index(k[1]), list(SIZES).index(k[0])),
        )
        report["sizes"] = [existing[key] for key in order if key in existing]
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
