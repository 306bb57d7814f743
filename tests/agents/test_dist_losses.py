"""Tests of the distributional losses: hand-computed values, slow references, invariants, sign pins."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from agents.losses import (
    categorical_cross_entropy,
    categorical_projection,
    fraction_loss,
    huber,
    quantile_huber_loss,
)

# ------------------------------------------------------------------ categorical projection (C51)


def _slow_projection(
    next_probs: np.ndarray, rewards: np.ndarray, discounts: np.ndarray, support: np.ndarray
) -> np.ndarray:
    """Bellemare et al. 2017, Algorithm 1, one row and one atom at a time (float64)."""
    batch, n = next_probs.shape
    v_min, v_max = support[0], support[-1]
    delta_z = (v_max - v_min) / (n - 1)
    out = np.zeros((batch, n))
    for row in range(batch):
        for j in range(n):
            tz = min(max(rewards[row] + discounts[row] * support[j], v_min), v_max)
            b = (tz - v_min) / delta_z
            lower, upper = math.floor(b), math.ceil(b)
            if lower == upper:
                out[row, lower] += next_probs[row, j]
            else:
                out[row, lower] += next_probs[row, j] * (upper - b)
                out[row, upper] += next_probs[row, j] * (b - lower)
    return out


def test_projection_hand_computed() -> None:
    support = torch.tensor([0.0, 1.0, 2.0])
    probs = torch.tensor([[0.2, 0.3, 0.5], [0.2, 0.3, 0.5], [0.2, 0.3, 0.5]])
    rewards = torch.tensor([0.5, 1.0, 7.0])
    discounts = torch.tensor([1.0, 1.0, 0.5])
    out = categorical_projection(probs, rewards, discounts, support)
    # row 0: Tz = [0.5, 1.5, 2.5→2]: atom0 .1, atom1 .1 + .15, atom2 .15 + .5
    # row 1: Tz = [1, 2, 3→2] lands exactly on atoms (integer b): nothing lost, nothing doubled
    # row 2: everything beyond v_max clamps onto the last atom
    expected = torch.tensor([[0.1, 0.25, 0.65], [0.0, 0.2, 0.8], [0.0, 0.0, 1.0]])
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("integer_b", [False, True])
def test_projection_matches_slow_reference(integer_b: bool) -> None:
    gen = torch.Generator().manual_seed(0)
    batch = 64
    if integer_b:  # Δz = 1, integer rewards and discount ∈ {0, 1}: every b is an integer, exactly
        support = torch.linspace(-5.0, 5.0, 11, dtype=torch.float64)
        rewards = torch.randint(-7, 8, (batch,), generator=gen).double()
        discounts = torch.randint(0, 2, (batch,), generator=gen).double()
    else:  # C51's support, rewards and discounts spanning inside, on and beyond [v_min, v_max]
        support = torch.linspace(-10.0, 10.0, 51, dtype=torch.float64)
        rewards = torch.empty(batch, dtype=torch.float64).uniform_(-15.0, 15.0, generator=gen)
        rewards[:8] = torch.arange(-4, 4, dtype=torch.float64) * 0.4  # on atoms (up to rounding)
        discounts = torch.empty(batch, dtype=torch.float64).uniform_(0.0, 1.0, generator=gen)
        discounts[::5] = 0.0
        discounts[1::5] = 0.99
    next_probs = torch.softmax(torch.randn(batch, support.numel(), generator=gen, dtype=torch.float64) * 3, -1)
    out = categorical_projection(next_probs, rewards, discounts, support)
    expected = _slow_projection(next_probs.numpy(), rewards.numpy(), discounts.numpy(), support.numpy())
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-12)
    torch.testing.assert_close(out.sum(-1), torch.ones(batch, dtype=torch.float64))


def test_projection_rows_sum_to_one_float32() -> None:
    gen = torch.Generator().manual_seed(1)
    support = torch.linspace(-10.0, 10.0, 51)
    next_probs = torch.softmax(torch.randn(256, 51, generator=gen) * 5, -1)
    rewards = torch.randn(256, generator=gen) * 20
    discounts = torch.rand(256, generator=gen)
    discounts[:64] = 0.0
    out = categorical_projection(next_probs, rewards, discounts, support)
    assert (out >= 0).all()
    torch.testing.assert_close(out.sum(-1), torch.ones(256), atol=1e-5, rtol=0)


def test_cross_entropy_value_and_gradient() -> None:
    logits = torch.zeros(2, 4, requires_grad=True)
    target = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    loss = categorical_cross_entropy(logits, target)
    torch.testing.assert_close(loss, torch.full((2,), math.log(4.0)))
    loss.sum().backward()
    torch.testing.assert_close(logits.grad, torch.softmax(logits.detach(), -1) - target)
    # stays finite where a probability underflows (log of softmax would give -inf · 0 = nan)
    extreme = torch.tensor([[-1e4, 0.0, 0.0]])
    assert torch.isfinite(categorical_cross_entropy(extreme, torch.tensor([[0.5, 0.5, 0.0]]))).all()


# ------------------------------------------------------------------ quantile Huber loss


@pytest.mark.parametrize(("kappa", "expected"), [(1.0, 0.546875), (2.0, 0.3125), (0.0, 1.0)])
def test_quantile_huber_hand_computed(kappa: float, expected: float) -> None:
    # quantile 0 (τ=.25, θ=0): u = [2, -.5]; quantile 1 (τ=.75, θ=1): u = [1, -1.5]
    # κ=1: q0 mean(.25·1.5, .75·.125) = .234375; q1 mean(.75·.5, .25·1.0) = .3125
    # κ=2: q0 mean(.25·2/2, .75·.125/2) = .1484375; q1 mean(.75·.5/2, .25·1.125/2) = .1640625
    # κ=0: q0 mean(.25·2, .75·.5) = .4375; q1 mean(.75·1, .25·1.5) = .5625
    predictions = torch.tensor([[0.0, 1.0]])
    targets = torch.tensor([[2.0, -0.5]])
    taus = torch.tensor([[0.25, 0.75]])
    loss = quantile_huber_loss(predictions, targets, taus, kappa)
    torch.testing.assert_close(loss, torch.tensor([expected]))


def test_quantile_huber_at_median_is_half_huber() -> None:
    gen = torch.Generator().manual_seed(0)
    predictions = torch.randn(5, 1, generator=gen) * 3
    targets = torch.randn(5, 7, generator=gen) * 3
    loss = quantile_huber_loss(predictions, targets, torch.full((5, 1), 0.5), kappa=1.0)
    torch.testing.assert_close(loss, 0.5 * huber(targets - predictions, 1.0).mean(-1))


def test_quantile_huber_target_weights_equal_repeated_samples() -> None:
    """Weights 1/2, 1/4, 1/4 on (a, b, c) give the loss of the equally weighted sample (a, a, b, c)."""
    generator = torch.Generator().manual_seed(3)
    predictions = torch.randn(4, 5, generator=generator)
    taus = torch.rand(4, 5, generator=generator)
    samples = torch.randn(4, 3, generator=generator)
    weights = torch.tensor([0.5, 0.25, 0.25]).expand(4, 3)
    repeated = samples[:, [0, 0, 1, 2]]
    for kappa in (0.0, 1.0, 2.0):
        torch.testing.assert_close(quantile_huber_loss(predictions, samples, taus, kappa, weights),
                                   quantile_huber_loss(predictions, repeated, taus, kappa))
    uniform = torch.full((4, 3), 1 / 3)
    torch.testing.assert_close(quantile_huber_loss(predictions, samples, taus, 1.0, uniform),
                               quantile_huber_loss(predictions, samples, taus, 1.0))


def test_quantile_huber_no_gradient_to_targets_or_taus() -> None:
    predictions = torch.randn(3, 4, requires_grad=True)
    targets = torch.randn(3, 5, requires_grad=True)
    taus = torch.rand(3, 4, requires_grad=True)
    quantile_huber_loss(predictions, targets, taus, 1.0).sum().backward()
    assert predictions.grad is not None
    assert targets.grad is None and taus.grad is None


def test_target_above_prediction_raises_it() -> None:
    predictions = torch.zeros(1, 3, requires_grad=True)
    quantile_huber_loss(predictions, torch.ones(1, 1), torch.tensor([[0.1, 0.5, 0.9]]), 1.0).sum().backward()
    assert (predictions.grad < 0).all()  # a gradient step increases every quantile


@pytest.mark.parametrize(("kappa", "atol"), [(0.0, 0.15), (1.0, 0.75)])
def test_quantile_regression_recovers_tau_quantiles(kappa: float, atol: float) -> None:
    """Sign pin: SGD on a fixed skewed sample lands on np.quantile at τ, not at 1 − τ.

    κ = 0 is the exact quantile loss; κ = 1 minimises the Huber quantile, which sits slightly inside the
    quantile (≤ 0.45 here on a sample spread over ~100), hence the looser tolerance.
    """
    rng = np.random.default_rng(0)
    sample = 5.0 * np.concatenate([rng.normal(0.0, 1.0, 600), rng.normal(10.0, 3.0, 300), rng.normal(-20.0, 1.0, 100)])
    num_quantiles = 10
    taus = (2 * torch.arange(num_quantiles, dtype=torch.float64) + 1) / (2 * num_quantiles)
    predictions = torch.zeros(1, num_quantiles, dtype=torch.float64, requires_grad=True)
    targets = torch.as_tensor(sample)[None, :]
    opt = torch.optim.SGD([predictions], lr=2.0)
    for step in range(3000):
        if step in (1500, 2500):
            opt.param_groups[0]["lr"] /= 10
        opt.zero_grad()
        quantile_huber_loss(predictions, targets, taus[None], kappa).sum().backward()
        opt.step()
    expected = np.quantile(sample, taus.numpy())
    np.testing.assert_allclose(predictions.detach().numpy()[0], expected, atol=atol)
    flipped = np.quantile(sample, 1 - taus.numpy())
    assert np.abs(predictions.detach().numpy()[0] - flipped).max() > 10.0  # the test can see a sign slip


# ------------------------------------------------------------------ fraction loss (FQF)


def _w1(taus: np.ndarray, quantile_fn, grid: int = 200_001) -> float:
    """W1 between F⁻¹ and its staircase at the hat fractions (the W1 error FQF minimises), by the trapezoid rule."""
    total = 0.0
    for lo, hi in zip(taus[:-1], taus[1:], strict=True):
        omega = np.linspace(lo, hi, grid)
        gap = np.abs(quantile_fn(omega) - quantile_fn((lo + hi) / 2))
        total += float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(omega)))
    return total


def test_fraction_loss_gradient_hand_case() -> None:
    # F⁻¹(τ) = τ², τ = [0, .3, .6, 1]: τ̂ = [.15, .45, .8]
    interior = torch.tensor([[0.3, 0.6]], requires_grad=True)
    interior_values = interior.detach() ** 2
    hat_values = torch.tensor([[0.15, 0.45, 0.8]]) ** 2
    fraction_loss(interior_values, hat_values, interior).sum().backward()
    # 2·.09 − .0225 − .2025 = −.045;   2·.36 − .2025 − .64 = −.1225
    torch.testing.assert_close(interior.grad, torch.tensor([[-0.045, -0.1225]]))


def test_fraction_loss_gradient_is_w1_gradient() -> None:
    def quantile_fn(x: np.ndarray) -> np.ndarray:
        return np.exp(3 * x) + 2 * x  # increasing, curved

    taus = np.array([0.0, 0.1, 0.35, 0.5, 0.8, 1.0])
    interior = torch.tensor(taus[None, 1:-1], requires_grad=True)
    hats = (taus[1:] + taus[:-1]) / 2
    loss = fraction_loss(torch.tensor(quantile_fn(taus[None, 1:-1])), torch.tensor(quantile_fn(hats[None])), interior)
    loss.sum().backward()
    eps = 1e-4
    numeric = []
    for i in range(1, len(taus) - 1):
        up, down = taus.copy(), taus.copy()
        up[i] += eps
        down[i] -= eps
        numeric.append((_w1(up, quantile_fn) - _w1(down, quantile_fn)) / (2 * eps))
    np.testing.assert_allclose(interior.grad.numpy()[0], numeric, rtol=1e-4, atol=1e-6)


def test_fraction_loss_no_gradient_to_quantile_values() -> None:
    interior_values = torch.randn(2, 3, requires_grad=True)
    hat_values = torch.randn(2, 4, requires_grad=True)
    taus = torch.rand(2, 3, requires_grad=True)
    fraction_loss(interior_values, hat_values, taus).sum().backward()
    assert interior_values.grad is None and hat_values.grad is None
    assert taus.grad is not None
