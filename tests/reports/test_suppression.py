"""Small counts in published tables: shown as "<5", and never recoverable from the totals."""

from __future__ import annotations

from itertools import product

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from service.reports.suppression import Group, Subset, small_count, suppress

TYPES = Group("total", ("a", "b", "c"))


def test_counts_from_1_to_4_are_shown_as_under_five_and_zero_and_five_as_they_are():
    shown = suppress({"total": 0, "a": 0}, [Group("total", ("a",))])
    assert shown == {"total": 0, "a": 0}
    assert [small_count(n) for n in (0, 1, 4, 5, 12)] == [0, "<5", "<5", 5, 12]


def test_one_small_cell_hides_the_next_smallest_cell_so_the_total_cannot_give_it_away():
    shown = suppress({"total": 30, "a": 3, "b": 7, "c": 20}, [TYPES])
    assert shown == {"total": 30, "a": "<5", "b": "suppressed", "c": 20}


def test_the_next_smallest_cell_is_skipped_when_the_pair_would_still_add_up_to_one_answer():
    # a "<5" and a hidden count of at least 5 adding up to 6 can only be 1 and 5
    shown = suppress({"total": 26, "a": 1, "b": 5, "c": 20}, [TYPES])
    assert shown == {"total": 26, "a": "<5", "b": 5, "c": "suppressed"}


def test_two_small_cells_whose_sum_leaves_one_answer_hide_a_third():
    shown = suppress({"total": 22, "a": 1, "b": 1, "c": 20}, [TYPES])
    assert shown == {"total": 22, "a": "<5", "b": "<5", "c": "suppressed"}


def test_a_total_is_hidden_when_it_would_reveal_its_hidden_cells():
    shown = suppress({"total": 8, "a": 4, "b": 4, "c": 0}, [TYPES])
    assert shown == {"total": "suppressed", "a": "<5", "b": "<5", "c": 0}


def test_outcomes_that_add_up_to_a_hidden_closed_count_do_not_give_it_away():
    groups = [Group("total", ("open", "closed")), Group("closed", ("returned", "unfounded"))]
    shown = suppress({"total": 10, "open": 1, "closed": 9, "returned": 8, "unfounded": 1}, groups)
    assert shown["open"] == "<5" and shown["unfounded"] == "<5"
    assert shown["total"] == "suppressed" and shown["returned"] == "suppressed"


def test_a_shown_part_does_not_put_a_floor_under_a_hidden_whole():
    groups = [Group("total", ("open", "closed"))]
    shown = suppress({"total": 30, "open": 25, "closed": 5, "long_open": 12}, groups, [Subset("long_open", "open")])
    assert shown == {"total": 30, "open": 25, "closed": 5, "long_open": 12}
    shown = suppress({"total": 28, "open": 25, "closed": 3, "long_open": 12}, groups, [Subset("long_open", "open")])
    assert shown["closed"] == "<5" and shown["open"] == "suppressed" and shown["long_open"] == "suppressed"


def _possible_values(shown: dict, cells: list[int], parts: list[int], low: int = 1) -> dict[str, set[int]]:
    """An attacker who knows the rule: every assignment of the hidden counts that agrees with
    what is shown and with the sums, and the values each hidden count can take. A "<5" is taken
    to be 1 to 4 (`low` = 0 when that leaves no answer: a zero was hidden)."""
    cap = 20  # well above any count drawn, so the cap itself pins nothing down
    leaves = [f"c{i}" for i in range(1 if parts else 0, len(cells))] + [f"p{i}" for i in range(len(parts))]

    def domain(key: str) -> range:
        value = shown[key]
        if value == "<5":
            return range(low, 5)
        if value == "suppressed":
            return range(5, cap + 1)
        return range(value, value + 1)

    def agrees(key: str, value: int) -> bool:
        return value >= 5 if shown[key] == "suppressed" else value in domain(key)

    possible: dict[str, set[int]] = {k: set() for k, v in shown.items() if isinstance(v, str)}
    for combo in product(*(domain(k) for k in leaves)):
        full = dict(zip(leaves, combo, strict=True))
        if parts:
            full["c0"] = sum(full[f"p{i}"] for i in range(len(parts)))
        full["total"] = sum(full[f"c{i}"] for i in range(len(cells)))
        if all(agrees(k, full[k]) for k in shown):
            for key in possible:
                possible[key].add(full[key])
    return possible


@settings(max_examples=150, deadline=None)
@given(
    cells=st.lists(st.integers(min_value=0, max_value=9), min_size=2, max_size=3),
    parts=st.one_of(st.just([]), st.lists(st.integers(min_value=0, max_value=6), min_size=2, max_size=2)),
)
def test_no_hidden_count_can_be_worked_out_from_what_is_shown(cells, parts):
    if parts:
        cells = [sum(parts), *cells[1:]]
    values = {"total": sum(cells)} | {f"c{i}": v for i, v in enumerate(cells)}
    values |= {f"p{i}": v for i, v in enumerate(parts)}
    groups = [Group("total", tuple(f"c{i}" for i in range(len(cells))))]
    if parts:
        groups.append(Group("c0", tuple(f"p{i}" for i in range(len(parts)))))
    shown = suppress(values, groups)
    for key, value in values.items():
        assert shown[key] == value or (value < 5 and shown[key] == "<5") or (value >= 5 and shown[key] == "suppressed")
        assert value == 0 or 5 <= value or shown[key] == "<5"  # every small count is hidden
    assume(not all(isinstance(v, str) for v in shown.values()))  # all hidden: nothing more to do
    possible = _possible_values(shown, cells, parts)
    if not any(possible.values()):
        possible = _possible_values(shown, cells, parts, low=0)
    for key, values_seen in possible.items():
        assert values_seen != {values[key]}, (shown, key)  # the attacker pins the true count
