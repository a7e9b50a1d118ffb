"""Benchmark the aggregator on seeded, realistic buying rounds (issue 4, docs/aggregator.md).

    python -m bench.aggregator --size elp|1k|10k|all [--seed N] [--solver highs|cbc]
        [--rules default|committee|single-source|strict] [--plain-time-limit SECONDS]
        [--no-plain] [--merged-time-limit SECONDS] [--output bench/results/aggregator.json]

Each size runs in a fresh subprocess (so peak memory is per size): first the merged model
(procurement.optimizer.solve), then, in another fresh subprocess on the same seeded instance,
the plain school-by-school model (solve_plain) for comparison. Rows are merged into the output
file by size and rules, so sizes can be re-measured one at a time.
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
    """Schools × services × providers × tiers, the targets and the plain model's budget."""

    name: str
    schools: int
    services: int
    providers: int
    tiers: int
    target_seconds: float
    target_memory_mib: float | None
    plain_time_limit: float


# The plain model gets 600 s where it can finish; at 10k it cannot (DESIGN.md §4), so 120 s.
SIZES = {
    "elp": Size("elp", 92, 12, 25, 5, 1.0, None, 600.0),
    "1k": Size("1k", 1000, 20, 50, 5, 5.0, None, 600.0),
    "10k": Size("10k", 10_000, 20, 100, 5, 60.0, 2048.0, 120.0),
}


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


def generate(size: Size, seed: int, rules: str = "default") -> Instance:
    """A seeded round: schools in 6–8 areas, providers serving some areas, all-units tiers."""
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
    size: Size, seed: int, rules: str, model: str, solver: str, time_limit: float | None
) -> dict:
    """Generate the instance and solve it with one model, in this (fresh) process."""
    started = time.perf_counter()
    instance = generate(size, seed, rules)
    generated = time.perf_counter() - started
    if model == "merged":
        result = solve(instance, solver=solver, time_limit=time_limit)
    else:
        result = solve_plain(instance, solver=solver, time_limit=time_limit)
    return {
        "model": model,
        "instance": fingerprint(instance),
        "generate_seconds": round(generated, 3),
        "status": result.status,
        "message": result.message,
        "solver": result.solver,
        "build_seconds": round(result.seconds.build, 3),
        "solve_seconds": round(result.seconds.solve, 3),
        "total_seconds": round(result.seconds.total, 3),
        "peak_mib": peak_mib(),
        "objective_pence": result.objective_pence,
        "bound_pence": result.bound_pence,
        "gap": result.gap,
        "unmet_units": sum(u.quantity for u in result.unmet),
        "charges_add_up": sum(c.charge_pence for c in result.charges) == result.objective_pence,
        "ir_violations": sum(len(c.violations) for c in result.checks),
        "model_size": None
        if result.model is None
        else {
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
    size: Size, seed: int, rules: str, model: str, solver: str, limit: float | None
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
    ]
    if limit is not None:
        command += ["--time-limit", str(limit)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def plain_columns(instance: Instance) -> int:
    """How many allocation columns the plain model would have: one per pledge and usable offer."""
    offers: dict[str, list[Offer]] = {}
    for offer in instance.offers:
        offers.setdefault(offer.service, []).append(offer)
    return sum(
        1
        for pledge in instance.demand
        for offer in offers.get(pledge.service, [])
        if offer.serves(pledge.school)
    )


def run_size(
    size: Size,
    seed: int,
    rules: str,
    solver: str,
    plain_limit: float | None,
    plain: bool,
    merged_limit: float | None = None,
) -> dict:
    """Merged model, then the plain model, each in a fresh process; print and return the row."""
    load_before = [round(x, 2) for x in os.getloadavg()]
    merged = in_subprocess(size, seed, rules, "merged", solver, merged_limit)
    row: dict = {
        "load_average_before": load_before,
        "size": size.name,
        "rules": rules,
        "rules_detail": instance_to_json(Instance((), (), (), RULES[rules]))["rules"],
        "shape": f"{size.schools} × {size.services} × {size.providers} × {size.tiers}",
        "seed": seed,
        "merged_time_limit_seconds": merged_limit,
        "merged": merged,
        "targets": {"total_seconds": size.target_seconds, "peak_mib": size.target_memory_mib},
    }
    if plain:
        limit = plain_limit or size.plain_time_limit
        measured = in_subprocess(size, seed, rules, "plain", solver, limit)
        row["plain"] = measured
        row["plain_time_limit_seconds"] = limit
        row["same_instance"] = measured["instance"] == merged["instance"]
        row["same_objective"] = measured["objective_pence"] == merged["objective_pence"]
        row["speed_ratio"] = round(measured["total_seconds"] / merged["total_seconds"], 1)
        # When the plain model stops at its time limit, the true ratio is larger still.
        row["speed_ratio_is_lower_bound"] = measured["status"] != "optimal"
    else:
        columns = plain_columns(generate(size, seed, rules))
        row["plain"] = None
        row["plain_skipped"] = f"plain model skipped (--no-plain): {columns:,} allocation columns"
    peak = merged["peak_mib"]["self"] + merged["peak_mib"]["children"]
    row["within_target"] = merged["total_seconds"] <= size.target_seconds and (
        size.target_memory_mib is None or peak <= size.target_memory_mib
    )
    if plain and size.name == "1k":
        row["within_target"] = (
            row["within_target"] and row["speed_ratio"] >= 10 and row["same_objective"]
        )
    if rules != "default":
        row["within_target"] = None  # the issue's targets are for rounds without side rules
    print_row(row)
    return row


def print_row(row: dict) -> None:
    """One human-readable block per size."""
    merged = row["merged"]
    print(
        f"== {row['size']} ({row['shape']}, seed {row['seed']}, rules {row['rules']})"
        f" instance {merged['instance']}"
    )
    size = merged["model_size"]
    print(
        f"   merged: {merged['status']}, build {merged['build_seconds']} s,"
        f" solve {merged['solve_seconds']} s, total {merged['total_seconds']} s,"
        f" peak {merged['peak_mib']['self']} MiB (+children {merged['peak_mib']['children']}),"
        f" objective {merged['objective_pence']} p, gap {merged['gap']},"
        f" {size['groups']} types, {size['columns']} columns in {size['models']} models"
    )
    plain = row.get("plain")
    if plain:
        psize = plain["model_size"]
        print(
            f"   plain:  {plain['status']}, build {plain['build_seconds']} s,"
            f" solve {plain['solve_seconds']} s, total {plain['total_seconds']} s,"
            f" peak {plain['peak_mib']['self']} MiB, objective {plain['objective_pence']} p,"
            f" gap {plain['gap']}, {psize['columns']} columns"
        )
        if row["speed_ratio_is_lower_bound"]:
            print(
                f"   plain model stopped at its {row['plain_time_limit_seconds']:.0f} s limit:"
                f" {(plain['message'] or 'no proven optimum')[:90]}; speed ratio at least"
                f" {row['speed_ratio']}×, same instance {row['same_instance']}"
            )
        else:
            print(
                f"   speed ratio {row['speed_ratio']}×, same objective {row['same_objective']},"
                f" same instance {row['same_instance']}"
            )
    else:
        print(f"   {row['plain_skipped']}")
    if row["within_target"] is None:
        print("   (targets apply to the default rules)")
    else:
        print(f"   within target: {row['within_target']}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for the chosen sizes and write the JSON results."""
    parser = argparse.ArgumentParser(prog="python -m bench.aggregator")
    parser.add_argument("--size", choices=[*SIZES, "all"], default="all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--solver", choices=("highs", "cbc"), default="highs")
    parser.add_argument("--rules", choices=list(RULES), default="default")
    parser.add_argument(
        "--plain-time-limit", type=float, default=None, help="default: 600 s, 120 s at 10k"
    )
    parser.add_argument("--no-plain", action="store_true", help="skip the plain model")
    parser.add_argument("--merged-time-limit", type=float, default=None)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--child", choices=("merged", "plain"), help=argparse.SUPPRESS)
    parser.add_argument("--time-limit", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        row = measure(
            SIZES[args.size], args.seed, args.rules, args.child, args.solver, args.time_limit
        )
        json.dump(row, sys.stdout)
        return 0
    names = list(SIZES) if args.size == "all" else [args.size]
    rows = [
        run_size(
            SIZES[name],
            args.seed,
            args.rules,
            args.solver,
            args.plain_time_limit,
            not args.no_plain,
            args.merged_time_limit,
        )
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
            existing = {(r["size"], r.get("rules", "default")): r for r in old}
        existing.update({(r["size"], r["rules"]): r for r in rows})
        order = [(n, r) for r in RULES for n in SIZES]
        report["sizes"] = [existing[key] for key in order if key in existing]
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
