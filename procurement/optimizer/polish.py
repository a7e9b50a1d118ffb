"""Polishing a single-source allocation school by school (issue 18): a steepest-descent local
search over moves of one school and swaps of two between a pair of offers, from the repaired
greedy allocation of `heuristic.py`.

Pure: the standard library and numpy (which highspy needs anyway). Deterministic: ties go to
the first pair of offers, the smallest sizes and the earliest groups.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from procurement.optimizer.heuristic import _State

# Moves of the local search at most, and the cost of a total an
# offer may not be awarded (beyond any real cost: pence of the largest rounds are below 1e13).
_MOVES = 20_000
# Moves and swaps priced at most in all (a few seconds), so that no block polishes for long.
_WORK = 50_000_000
# Sizes of school moved each way between two offers priced at most (every k-th beyond that).
_SIZES = 400
_NEVER = 2**62


def polish(state: _State, wanted: int) -> None:
    """Whole schools moved between two offers, one way or swapped, while that lowers the cost
    and keeps every rule: a local search from the repaired greedy allocation. Totals that
    just miss a cheaper band, or sit just above a dearer one, are set right school by
    school. For each pair of offers every move and swap is priced at once (numpy), the best
    one made, the best over every pair first, until none lowers the cost (or `_MOVES`,
    `_WORK`)."""
    plans = state.block.offers
    members = [j for j in state.members if plans[j].bands]
    lows = {j: np.array([b.low for b in plans[j].bands], dtype=np.int64) for j in members}
    prices = {
        j: np.array([b.unit_price_pence for b in plans[j].bands], dtype=np.int64) for j in members
    }
    everything = state.everything()
    limit = dict(state.high)
    if state.share < 1:
        n, d = state.share.numerator, state.share.denominator
        limit = {j: min(state.high[j], n * everything // d) for j in members}

    def priced(j: int, totals: np.ndarray) -> np.ndarray:
        """Each total's cost on offer j; a total it may not be awarded costs _NEVER."""
        band = np.searchsorted(lows[j], totals, side="right") - 1
        cost = prices[j][np.maximum(band, 0)] * totals + plans[j].offer.setup_pence
        allowed = (totals >= state.low[j]) & (totals <= limit[j])
        cost = np.where(allowed, cost, _NEVER)
        return np.where(totals == 0, 0, cost)

    def closable(j: int) -> bool:
        provider = plans[j].offer.provider
        used = {plans[k].offer.provider for k in members if state.total[k] > 0}
        if len(used) > wanted:
            return True
        return any(
            k != j and state.total[k] > 0 and plans[k].offer.provider == provider for k in members
        )

    def by_reach(a: int) -> dict[tuple[int, ...], dict[int, list[int]]]:
        """Offer a's pieces by their group's reach, the first (by group) of each size."""
        if kept.get(a, (None,))[0] != changed[a]:
            found: dict[tuple[int, ...], dict[int, list[int]]] = defaultdict(dict)
            for piece in sorted(state.pieces[a].values(), key=lambda p: (p[1], p[0])):
                sizes = found[state.block.groups[piece[0]].offers]
                sizes.setdefault(piece[1], piece)
            kept[a] = (changed[a], found)
        return kept[a][1]

    def movable(a: int, b: int) -> dict[int, list[int]]:
        """The first piece (by group) of each size on offer a that could go to offer b; of
        many sizes, every k-th (smallest first) so that a pair is priced in one small array."""
        found: dict[int, list[int]] = {}
        for offers, sizes in by_reach(a).items():
            if b in offers:
                for size, piece in sizes.items():
                    if size not in found or piece[0] < found[size][0]:
                        found[size] = piece
        ordered = sorted(found)
        if len(ordered) > _SIZES:
            ordered = ordered[:: -(-len(ordered) // _SIZES)]
        return {size: found[size] for size in ordered}

    work = [0]  # moves and swaps priced so far, at most _WORK

    def best_move(a: int, b: int) -> tuple[int, int, int]:
        """The move or swap between offers a and b that lowers the cost most: (change,
        units of the school sent from a, units of the one sent back); change 0 if none."""
        going, coming = movable(a, b), movable(b, a)
        if not going and not coming:
            return 0, 0, 0
        out = np.array([0, *going], dtype=np.int64)
        back = np.array([0, *coming], dtype=np.int64)
        delta = (out[:, None] - back[None, :]).ravel()  # units from a to b
        work[0] += len(delta)
        ta, tb = state.total[a], state.total[b]
        change = priced(a, ta - delta) + priced(b, tb + delta)
        change -= int(priced(a, np.array([ta]))[0] + priced(b, np.array([tb]))[0])
        if not closable(a):
            change = np.where(ta - delta == 0, _NEVER, change)
        if not closable(b):
            change = np.where(tb + delta == 0, _NEVER, change)
        best = int(np.argmin(change))
        if change[best] >= 0:
            return 0, 0, 0
        return int(change[best]), int(out[best // len(back)]), int(back[best % len(back)])

    # Steepest descent: the best move over every pair is made, one at a time. A pair is
    # priced again only when a move has changed one of its offers, or which offers are open
    # (min_providers), since it was last priced.
    changed = {j: 0 for j in members}
    kept: dict[int, tuple[int, dict[tuple[int, ...], dict[int, list[int]]]]] = {}
    opened = 0
    pairs = [(a, b) for x, a in enumerate(members) for b in members[x + 1 :]]
    if not pairs:
        return
    best: dict[tuple[int, int], tuple[tuple[int, int, int], tuple[int, int, int]]] = {}
    for _ in range(_MOVES):
        for a, b in pairs:
            stamp = (changed[a], changed[b], opened)
            if (a, b) not in best or best[(a, b)][0] != stamp:
                if work[0] > _WORK:
                    return
                best[(a, b)] = (stamp, best_move(a, b))
        a, b = min(pairs, key=lambda pair: best[pair][1][0])
        change, sent, received = best[(a, b)][1]
        if change >= 0:
            return
        going, coming = movable(a, b), movable(b, a)
        was_open = (state.total[a] > 0, state.total[b] > 0)
        if sent:
            state.put(b, state.take(a, going[sent]))
        if received:
            state.put(a, state.take(b, coming[received]))
        changed[a] += 1
        changed[b] += 1
        if was_open != (state.total[a] > 0, state.total[b] > 0):
            opened += 1
