"""Splitting a pooled bill between schools: integer pence, shares that add up to the penny.

Pure module: standard library only.
"""

from collections.abc import Sequence


def largest_remainder(total_pence: int, weights: Sequence[int]) -> list[int]:
    """Split total_pence in proportion to weights, exactly; ties go to the earlier weight."""
    if total_pence < 0:
        raise ValueError(f"total_pence must be >= 0, got {total_pence}")
    if any(weight < 0 for weight in weights):
        raise ValueError("weights must be >= 0")
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total_pence == 0:
            return [0] * len(weights)
        raise ValueError("cannot split a positive total over weights that are all zero")
    parts = [total_pence * weight // weight_sum for weight in weights]
    remainders = [total_pence * weight % weight_sum for weight in weights]
    short = total_pence - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in by_remainder[:short]:
        parts[i] += 1
    return parts
