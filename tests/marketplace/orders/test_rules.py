"""The order rules that need no database: which orders wait for the head."""

from __future__ import annotations

import pytest

from marketplace.orders import rules


@pytest.mark.parametrize(
    ("total_pence", "needs"),
    [(0, False), (249_999, False), (250_000, False), (250_001, True), (1_000_000, True)],
)
def test_only_an_order_over_the_approval_threshold_waits_for_the_head(total_pence, needs):
    assert rules.needs_approval(total_pence, 250_000) is needs


CHAIN = rules.ApprovalChain(threshold_pence=250_000, second_pence=500_000)
HEAD, SECOND = rules.ApprovalStep.HEAD, rules.ApprovalStep.SECOND


@pytest.mark.parametrize(
    ("total_pence", "steps"),
    [
        (0, ()),
        (250_000, ()),
        (250_001, (HEAD,)),
        (500_000, (HEAD,)),
        (500_001, (HEAD, SECOND)),
        (9_000_000, (HEAD, SECOND)),
    ],
)
def test_the_chain_asks_no_one_then_the_head_then_a_second_approver_too(total_pence, steps):
    assert rules.approvals_needed(total_pence, CHAIN) == steps


def test_without_a_second_step_every_order_over_the_threshold_needs_only_the_head():
    chain = rules.ApprovalChain(threshold_pence=250_000)
    assert rules.approvals_needed(10_000_000, chain) == (HEAD,)
    assert rules.approvals_needed(250_000, chain) == ()


def test_the_next_step_follows_the_approvals_given_and_ends_with_the_chain():
    assert rules.next_step((HEAD, SECOND), 0) == (1, HEAD)
    assert rules.next_step((HEAD, SECOND), 1) == (2, SECOND)
    assert rules.next_step((HEAD, SECOND), 2) is None
    assert rules.next_step((), 0) is None


@pytest.mark.parametrize(
    ("step", "role", "allowed"),
    [
        (HEAD, "head", True),
        (HEAD, "trust", True),
        (HEAD, "governor", False),
        (HEAD, "sbm", False),
        (SECOND, "governor", True),
        (SECOND, "trust", True),
        (SECOND, "head", True),
        (SECOND, "sbm", False),
    ],
)
def test_each_step_is_given_by_its_own_roles(step, role, allowed):
    problem = rules.approver_problem(step, role=role, approver_id=7, earlier_approver_ids=[])
    assert (problem is None) is allowed


def test_the_second_approval_must_come_from_a_different_person():
    problem = rules.approver_problem(SECOND, role="head", approver_id=7, earlier_approver_ids=[7])
    assert problem is not None and "different person" in problem
    assert (
        rules.approver_problem(SECOND, role="head", approver_id=8, earlier_approver_ids=[7]) is None
    )


@pytest.mark.parametrize(
    ("threshold", "second", "problems"),
    [
        (2_500, None, set()),
        (2_500, 2_500, set()),
        (0, 10_000, set()),
        (2_500, 2_499, {"second"}),
        (None, 5_000, {"threshold"}),
        (-1, None, {"threshold"}),
        (2_500, -5, {"second"}),
        (rules.MAX_APPROVAL_POUNDS + 1, None, {"threshold"}),
    ],
)
def test_a_chain_is_whole_pounds_with_the_second_step_at_least_the_first(
    threshold, second, problems
):
    assert set(rules.chain_problems(threshold, second)) == problems
