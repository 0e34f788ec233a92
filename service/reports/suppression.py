"""Small-count suppression for published counts, so no count of 1 to 4 can be read or worked out.

A count from 1 to 4 is shown as `"<5"` (primary suppression). Counts are published in groups
whose cells add up to a total (alerts by type add up to all alerts; outcomes add up to the
closed alerts, itself a cell of the status group), so a hidden cell could be recovered by
subtraction. Complementary suppression prevents that: while some hidden count can still be
worked out exactly from what is shown, another count is hidden too, shown as `"suppressed"` —
first the next smallest non-zero cell of a group the exposed count belongs to, else the group's
total. "Worked out" is judged by interval reasoning over every group at once: a `"<5"` is known
to lie in 1..4, a `"suppressed"` count to be at least 5, and each total to equal the sum of its
cells. With exactly one hidden cell in a group and its total shown, that is the rule "suppress
the next smallest cell too"; it also catches two hidden cells whose sum leaves one choice
(1 and 5 adding up to 6), and totals that would give a hidden cell away.

Zeros are shown: they reveal no one. Only when nothing else is left to hide (four categories of
one alert each, adding up to a "<5" total of exactly 4) is a zero cell hidden as "<5" too; where
no zero is left either, every count is already hidden and the rule has done what it can.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

THRESHOLD = 5
SMALL: Final = "<5"
SUPPRESSED: Final = "suppressed"

#: a count as published
Shown = int | Literal["<5", "suppressed"]


@dataclass(frozen=True, slots=True)
class Group:
    """Cells that add up to `total` (keys into the values being published)."""

    total: str
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Subset:
    """`part` counts some of what `whole` counts (open alerts older than 30 days ≤ open alerts)."""

    part: str
    whole: str


def _bounds(
    values: Mapping[str, int], hidden: set[str], groups: Sequence[Group], subsets: Sequence[Subset]
) -> dict[str, tuple[float, float]]:
    """What a reader can infer about each value from the published table: narrowed intervals."""
    bounds: dict[str, tuple[float, float]] = {}
    for key, value in values.items():
        if key not in hidden:
            bounds[key] = (value, value)
        elif value < THRESHOLD:
            bounds[key] = (min(value, 1), THRESHOLD - 1)
        else:
            bounds[key] = (THRESHOLD, math.inf)
    for _ in range(200):  # converges in a few passes; the cap only guards against slow creep
        changed = False

        def narrow(key: str, low: float, high: float) -> None:
            nonlocal changed
            old_low, old_high = bounds[key]
            new = (max(old_low, low), min(old_high, high))
            if new != bounds[key]:
                bounds[key] = new
                changed = True

        for group in groups:
            lows = [bounds[c][0] for c in group.cells]
            highs = [bounds[c][1] for c in group.cells]
            narrow(group.total, sum(lows), sum(highs))
            total_low, total_high = bounds[group.total]
            for index, cell in enumerate(group.cells):
                others_low = sum(lows) - lows[index]
                others_high = sum(highs) - highs[index]
                narrow(cell, total_low - others_high, total_high - others_low)
        for subset in subsets:
            narrow(subset.whole, bounds[subset.part][0], math.inf)
            narrow(subset.part, 0, bounds[subset.whole][1])
        if not changed:
            break
    return bounds


def _exposed(
    values: Mapping[str, int], hidden: set[str], groups: Sequence[Group], subsets: Sequence[Subset]
) -> list[str]:
    bounds = _bounds(values, hidden, groups, subsets)
    return [key for key in values if key in hidden and bounds[key][0] == bounds[key][1]]


def _candidates(values: Mapping[str, int], hidden: set[str], groups: Sequence[Group], target: str) -> list[str]:
    """Counts that could hide `target`, best first: the smallest non-zero cells of its groups,
    then the totals of groups it is a cell of, then anything else still shown, and last the
    zero cells of its groups (a hidden zero is shown as "<5", which it is)."""
    order = {key: index for index, key in enumerate(values)}

    def shown_nonzero(keys: list[str]) -> list[str]:
        return [k for k in dict.fromkeys(keys) if k not in hidden and values[k] > 0 and k != target]

    related = [g for g in groups if target == g.total or target in g.cells]
    tiers = [
        shown_nonzero([c for g in related for c in g.cells]),
        shown_nonzero([g.total for g in related if target in g.cells]),
        shown_nonzero(list(values)),
        [c for g in related for c in g.cells if c not in hidden and values[c] == 0],
    ]
    ranked: list[str] = []
    for tier in tiers:
        ranked.extend(k for k in sorted(tier, key=lambda k: (values[k], order[k])) if k not in ranked)
    return ranked


def suppress(
    values: Mapping[str, int], groups: Sequence[Group] = (), subsets: Sequence[Subset] = ()
) -> dict[str, Shown]:
    """The values as published: a count, `"<5"` or `"suppressed"`. Every key a group or subset
    names must be in `values`."""
    hidden = {key for key, value in values.items() if 0 < value < THRESHOLD}
    while True:
        for subset in subsets:
            # a shown part would put a floor under a hidden whole
            if subset.whole in hidden and values[subset.part] > 0:
                hidden.add(subset.part)
        choices = [(t, c) for t in _exposed(values, hidden, groups, subsets)
                   if (c := _candidates(values, hidden, groups, t))]
        if not choices:
            break  # nothing is exposed, or everything that could hide it already is
        target, candidates = choices[0]
        fixing = next(
            (c for c in candidates if target not in _exposed(values, hidden | {c}, groups, subsets)),
            candidates[0],
        )
        hidden.add(fixing)
    return {
        key: (SMALL if value < THRESHOLD else SUPPRESSED) if key in hidden else value
        for key, value in values.items()
    }


def small_count(value: int) -> Shown:
    """A count published on its own: 1 to 4 become `"<5"`."""
    return SMALL if 0 < value < THRESHOLD else value
