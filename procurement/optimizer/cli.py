"""The command line: python -m procurement.optimizer INSTANCE.json [--solver highs|cbc]
[--time-limit SECONDS] [--plain]; '-' reads the instance from standard input (docs/aggregator.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from procurement.optimizer.instance import InstanceError, instance_from_json
from procurement.optimizer.result import result_to_json
from procurement.optimizer.running import HIGHS, SOLVERS
from procurement.optimizer.solve import solve, solve_plain


def main(argv: Sequence[str] | None = None) -> int:
    """Read an instance (file or '-'), solve it, print the result JSON; bad input exits 2."""
    parser = argparse.ArgumentParser(
        prog="python -m procurement.optimizer",
        description="Allocate pooled demand across offers at least cost (docs/aggregator.md).",
    )
    parser.add_argument("instance", help="instance JSON file, or - for standard input")
    parser.add_argument("--solver", choices=SOLVERS, default=HIGHS)
    parser.add_argument("--time-limit", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--plain", action="store_true", help="solve the unmerged model")
    args = parser.parse_args(argv)
    if args.time_limit is not None and args.time_limit <= 0:
        parser.error("--time-limit must be positive")
    try:
        if args.instance == "-":
            data = json.load(sys.stdin)
        else:
            with open(args.instance, encoding="utf-8") as handle:
                data = json.load(handle)
    except OSError as error:
        print(f"error: {args.instance}: {error.strerror}", file=sys.stderr)
        return 2
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        print(f"error: {args.instance}: not valid JSON: {error}", file=sys.stderr)
        return 2
    try:
        instance = instance_from_json(data)
    except InstanceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.plain:
        result = solve_plain(instance, solver=args.solver, time_limit=args.time_limit)
    else:
        result = solve(instance, solver=args.solver, time_limit=args.time_limit)
    json.dump(result_to_json(result), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
