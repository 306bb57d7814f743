"""n-step returns and discounts against a per-item Python loop, and hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch

from replay.nstep import nstep_return


def slow_nstep(rewards, terminated, truncated, gamma, clip):
    """One item at a time: sum clipped rewards until (and including) the first end."""
    out = []
    for r_row, term_row, trunc_row in zip(rewards.tolist(), terminated.tolist(), truncated.tolist(),
                                          strict=True):
        ret, steps, discount = 0.0, 0, None
        for k, (r, term, trunc) in enumerate(zip(r_row, term_row, trunc_row, strict=True)):
            if clip is not None:
                r = min(max(r, -clip), clip)
            ret += gamma**k * r
            steps = k + 1
            if term:
                discount = 0.0
                break
            if trunc:
                discount = gamma**steps
                break
        out.append((ret, gamma**steps if discount is None else discount, steps))
    return out


@pytest.mark.parametrize("n", [1, 3, 5])
@pytest.mark.parametrize("clip", [None, 1.0])
def test_matches_slow_reference(n: int, clip: float | None) -> None:
    g = torch.Generator().manual_seed(n)
    B = 4000
    rewards = torch.randn(B, n, generator=g) * 3
    terminated = torch.rand(B, n, generator=g) < 0.15
    truncated = torch.rand(B, n, generator=g) < 0.15
    returns, discounts, steps = nstep_return(rewards, terminated, truncated, 0.97, clip)
    assert returns.dtype == discounts.dtype == torch.float32 and returns.shape == (B,)
    ref = slow_nstep(rewards, terminated, truncated, 0.97, clip)
    kinds = set()
    for i, (ret, disc, m) in enumerate(ref):
        assert math.isclose(returns[i].item(), ret, rel_tol=1e-5, abs_tol=1e-5), i
        assert math.isclose(discounts[i].item(), disc, rel_tol=1e-6, abs_tol=1e-7), i
        assert steps[i].item() == m
        kinds.add((m, disc == 0.0))
    assert len(kinds) == 2 * n  # every stop length m, with and without bootstrap


def test_hand_computed_cases() -> None:
    gamma = 0.5
    rewards = torch.tensor([[2.0, -3.0, 4.0],    # no end: clip each step -> 1 - 0.5 + 0.25
                            [1.0, 1.0, 9.0],     # truncated at step 2: bootstrap with gamma^2
                            [1.0, 1.0, 9.0],     # terminated at step 2: no bootstrap
                            [5.0, 9.0, 9.0],     # terminated AND truncated at step 1: terminal wins
                            [1.0, 1.0, 1.0]])    # ends after the first end are ignored
    f, t = False, True
    terminated = torch.tensor([[f, f, f], [f, f, f], [f, t, f], [t, f, f], [f, t, t]])
    truncated = torch.tensor([[f, f, f], [f, t, f], [f, f, f], [t, f, f], [t, f, t]])
    returns, discounts, steps = nstep_return(rewards, terminated, truncated, gamma, reward_clip=1.0)
    torch.testing.assert_close(returns, torch.tensor([0.75, 1.5, 1.5, 1.0, 1.0]))
    torch.testing.assert_close(discounts, torch.tensor([0.125, 0.25, 0.0, 0.0, 0.5]))
    assert steps.tolist() == [3, 2, 2, 1, 1]
    # Clipping is per step, before the sum (clipping the sum would give 1.0 for the first row).
    unclipped, _, _ = nstep_return(rewards, terminated, truncated, gamma, reward_clip=None)
    torch.testing.assert_close(unclipped[:2], torch.tensor([2.0 - 1.5 + 1.0, 1.5]))


def test_stale_non_finite_rewards_after_the_end_are_ignored() -> None:
    rewards = torch.tensor([[1.0, float("nan"), float("inf")]])
    terminated = torch.tensor([[True, False, False]])
    truncated = torch.zeros(1, 3, dtype=torch.bool)
    returns, discounts, _ = nstep_return(rewards, terminated, truncated, 0.9, None)
    assert returns.tolist() == [1.0] and discounts.tolist() == [0.0]
