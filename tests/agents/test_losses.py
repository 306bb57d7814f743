"""The loss math of agents/losses.py: hand-computed values, slow references, invariants and sign pins.

Huber and the DQN TD loss; C51's projection and cross-entropy; the quantile Huber loss (the fast sorted
form against the pairwise definition); FQF's fraction loss; ER-DQN's expectile loss and imputation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from agents.heads import FractionProposal
from agents.losses import (
    categorical_cross_entropy,
    categorical_projection,
    expected_value_td_loss,
    expectile_imputation_residual,
    expectile_loss,
    fraction_loss,
    huber,
    impute_expectile_samples,
    quantile_huber_loss,
    quantile_huber_loss_pairwise,
    quantile_huber_sums,
)
from agents.taus import midpoint_taus
from neuro.statistics import expectiles, wasserstein1
from tests.neuro.reference import expectile_bisection

# ------------------------------------------------------------------ Huber and the TD loss (DQN)


@pytest.mark.parametrize(
    ("x", "kappa", "expected"),
    [
        (0.0, 1.0, 0.0),
        (0.5, 1.0, 0.125),  # ½ · 0.5²
        (-0.5, 1.0, 0.125),
        (1.0, 1.0, 0.5),  # boundary: ½ κ²
        (1.25, 1.0, 0.75),  # 1 · (1.25 − 0.5)
        (1.5, 1.0, 1.0),  # 1 · (1.5 − 0.5)
        (-1.5, 1.0, 1.0),
        (1.0, 0.5, 0.375),  # 0.5 · (1 − 0.25): STYLE's 0.375
        (1.5, 2.0, 1.125),  # ½ · 1.5², inside κ = 2
        (3.0, 2.0, 4.0),  # 2 · (3 − 1)
        (-3.0, 2.0, 4.0),
    ],
)
def test_huber_hand_values(x: float, kappa: float, expected: float) -> None:
    assert huber(torch.tensor(x), kappa).item() == pytest.approx(expected)


@pytest.mark.parametrize("kappa", [1.0, 2.0])
def test_huber_gradient_is_clipped_to_kappa(kappa: float) -> None:
    x = torch.tensor([-3.0, -1.5, -0.5, 0.0, 0.5, 1.5, 3.0], requires_grad=True)
    huber(x, kappa).sum().backward()
    assert torch.allclose(x.grad, x.detach().clamp(-kappa, kappa))


def test_huber_keeps_shape() -> None:
    assert huber(torch.zeros(3, 4, 5)).shape == (3, 4, 5)


def test_expected_value_td_loss_values_shape_and_stop_gradient() -> None:
    q = torch.tensor([0.0, 1.0, 2.0], requires_grad=True)
    target = torch.tensor([0.5, 3.0, 2.0], requires_grad=True)
    loss = expected_value_td_loss(q, target, kappa=1.0)
    assert loss.shape == (3,)
    assert torch.allclose(loss, torch.tensor([0.125, 1.5, 0.0]))
    loss.sum().backward()
    assert target.grad is None  # the target is a constant
    # d/dq H(y − q) = −clip(y − q): negative where y > q, so gradient descent raises q toward y.
    assert torch.allclose(q.grad, torch.tensor([-0.5, -1.0, 0.0]))


def test_squared_td_loss_is_dopamines_mse_without_the_half() -> None:
    """kappa=None: (y − q)², Dopamine's `mse_loss` (no ½): gradient −2(y − q), never clipped."""
    q = torch.tensor([0.0, 1.0, 2.0], requires_grad=True)
    target = torch.tensor([0.5, 4.0, 2.0])
    loss = expected_value_td_loss(q, target, kappa=None)
    assert torch.allclose(loss, torch.tensor([0.25, 9.0, 0.0]))
    loss.sum().backward()
    assert torch.allclose(q.grad, torch.tensor([-1.0, -6.0, 0.0]))


def test_dqn_head_loss_option_picks_huber_or_squared() -> None:
    from agents.heads import ExpectedValueHead, TargetDist

    torch.manual_seed(0)
    for loss_name, expected in (("huber", [0.125, 2.5]), ("mse", [0.25, 9.0])):
        head = ExpectedValueHead(4, 2, hidden=0, loss=loss_name)
        dist = head(torch.zeros(2, 4))
        q = dist.q_values().detach()
        action = torch.tensor([0, 1])
        target = TargetDist(torch.stack([q[0, 0] + 0.5, q[1, 1] + 3.0])[:, None])
        assert torch.allclose(head.loss(dist, action, target)["main"], torch.tensor(expected), atol=1e-6)
    with pytest.raises(ValueError, match="unknown DQN loss 'l1'; valid: huber, mse"):
        ExpectedValueHead(4, 2, loss="l1")


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
    taus = midpoint_taus(num_quantiles, torch.float64)
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


def _loss_and_grad(fn, predictions, targets, taus, kappa, weights):  # noqa: ANN001, ANN202
    p = predictions.clone().requires_grad_()
    loss = fn(p, targets, taus, kappa, weights)
    (grad,) = torch.autograd.grad((loss * torch.linspace(0.5, 1.5, loss.shape[0])).sum(), p)
    return loss.detach(), grad


@pytest.mark.parametrize("kappa", [0.0, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_sorted_quantile_huber_equals_pairwise(kappa: float, weighted: bool) -> None:
    """Loss and gradient agree, with tied targets and targets exactly on p, p ± κ."""
    g = torch.Generator().manual_seed(int(kappa * 10) + weighted)
    batch, n, m = 6, 23, 17
    predictions = torch.randn(batch, n, generator=g) * 3
    targets = torch.randn(batch, m, generator=g) * 3 + 1
    targets[:, :4] = targets[:, 4:8]  # ties among targets
    targets[0, :3] = predictions[0, :3]  # u = 0
    targets[1, :2] = predictions[1, :2] + kappa  # u = κ
    targets[2, :2] = predictions[2, :2] - kappa  # u = −κ
    taus = torch.rand(batch, n, generator=g)
    weights = torch.rand(batch, m, generator=g).softmax(-1) if weighted else None
    fast_loss, fast_grad = _loss_and_grad(quantile_huber_loss, predictions, targets, taus, kappa, weights)
    ref_loss, ref_grad = _loss_and_grad(quantile_huber_loss_pairwise, predictions, targets, taus, kappa, weights)
    torch.testing.assert_close(fast_loss, ref_loss, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fast_grad, ref_grad, rtol=1e-5, atol=1e-6)


def test_sorted_quantile_huber_qrdqn_shapes_far_from_zero() -> None:
    """QR-DQN's shapes (N = M = 200, shared [1, N] taus) with returns near 1000, where a float32
    expansion of (t − p)² would lose the quadratic ranges."""
    g = torch.Generator().manual_seed(7)
    predictions = 1000 + torch.randn(32, 200, generator=g)
    targets = 1000 + torch.randn(32, 200, generator=g)
    taus = midpoint_taus(200)[None, :]
    fast_loss, fast_grad = _loss_and_grad(quantile_huber_loss, predictions, targets, taus, 1.0, None)
    ref_loss, ref_grad = _loss_and_grad(quantile_huber_loss_pairwise, predictions, targets, taus, 1.0, None)
    torch.testing.assert_close(fast_loss, ref_loss, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(fast_grad, ref_grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("scale", [1e5, 1e7])
def test_sorted_quantile_huber_is_exact_at_large_returns(scale: float) -> None:
    """Returns far from zero (unclipped rewards reach them): the sorted form's per-sample loss and gradient
    agree with the pairwise definition to float64 precision, with targets within and beyond κ of each
    prediction (prefix sums of t² at t ~ 1e7 once lost ~40% of the loss)."""
    g = torch.Generator().manual_seed(11)
    predictions = scale + 2 * torch.randn(8, 32, generator=g, dtype=torch.float64)
    targets = scale + 2 * torch.randn(8, 24, generator=g, dtype=torch.float64)
    taus = midpoint_taus(32, torch.float64)[None, :]
    weights = torch.rand(8, 24, generator=g, dtype=torch.float64).softmax(-1)
    for target_weights in (None, weights):
        fast_loss, fast_grad = _loss_and_grad(quantile_huber_loss, predictions, targets, taus, 1.0, target_weights)
        ref_loss, ref_grad = _loss_and_grad(quantile_huber_loss_pairwise, predictions, targets, taus, 1.0,
                                            target_weights)
        torch.testing.assert_close(fast_loss, ref_loss, rtol=1e-9, atol=0.0)
        torch.testing.assert_close(fast_grad, ref_grad, rtol=1e-9, atol=1e-12)


def test_quantile_huber_sums_hand_computed() -> None:
    """One prediction p = 0 at τ = 0.25, κ = 1, targets −3, −0.5, 0.5, 2 (one in each range, weight 1/4):
    ρ = 0.75·(3 − 0.5) + 0.75·0.125 + 0.25·0.125 + 0.25·(2 − 0.5) = 2.375, mean over targets 0.59375."""
    loss, grad = quantile_huber_sums(torch.zeros(1, 1), torch.tensor([[-3.0, -0.5, 0.5, 2.0]]),
                                     torch.tensor([[0.25]]), 1.0)
    assert loss.item() == pytest.approx(0.59375)
    # dρ/dp: u < −κ: (1 − τ); −κ ≤ u < 0: −(1 − τ)u/κ; 0 ≤ u ≤ κ: −τ u/κ; u > κ: −τ.
    assert grad.item() == pytest.approx((0.75 - 0.75 * -0.5 - 0.25 * 0.5 - 0.25) / 4)


# ------------------------------------------------------------------ fraction loss (FQF)


def _w1_to_staircase(taus: np.ndarray, quantile_fn, grid: int) -> float:  # noqa: ANN001
    """∫ |F⁻¹(ω) − F⁻¹(τ̂_i)| over each [τ_i, τ_{i+1}]: the W1 between F⁻¹ and its staircase at the hat
    fractions, the error FQF minimises (Yang et al. 2019, Eq. 4), by the trapezoid rule with `grid` points
    per interval."""
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
        w1_up, w1_down = (_w1_to_staircase(t, quantile_fn, grid=200_001) for t in (up, down))
        numeric.append((w1_up - w1_down) / (2 * eps))
    np.testing.assert_allclose(interior.grad.numpy()[0], numeric, rtol=1e-4, atol=1e-6)


def test_fraction_loss_no_gradient_to_quantile_values() -> None:
    interior_values = torch.randn(2, 3, requires_grad=True)
    hat_values = torch.randn(2, 4, requires_grad=True)
    taus = torch.rand(2, 3, requires_grad=True)
    fraction_loss(interior_values, hat_values, taus).sum().backward()
    assert interior_values.grad is None and hat_values.grad is None
    assert taus.grad is not None


def test_fraction_proposal_minimises_w1_of_a_known_quantile_function() -> None:
    """P trained by fraction_loss alone reaches Proposition 1's stationary point, lowering W1."""
    torch.manual_seed(0)

    def quantile_fn(x):  # a skewed, increasing quantile function (exponential-like tail)
        return -torch.log1p(-0.999 * x) if torch.is_tensor(x) else -np.log1p(-0.999 * np.asarray(x))

    num_fractions = 6
    proposal = FractionProposal(4, num_fractions)
    features = torch.ones(1, 4)
    optimizer = torch.optim.Adam(proposal.parameters(), lr=0.02)
    uniform = proposal(features)[0].detach()[0].numpy().astype(np.float64)
    for _ in range(1500):
        fractions, _ = proposal(features)
        interior = fractions[:, 1:-1]
        hats = (fractions[:, 1:] + fractions[:, :-1]) / 2
        loss = fraction_loss(quantile_fn(interior).detach(), quantile_fn(hats).detach(), interior)
        optimizer.zero_grad()
        loss.sum().backward()
        optimizer.step()
    fractions = proposal(features)[0].detach()[0].double()
    assert (fractions.diff() > 0).all() and fractions[0] == 0 and fractions[-1] == 1
    hats = (fractions[1:] + fractions[:-1]) / 2
    stationarity = 2 * quantile_fn(fractions[1:-1]) - quantile_fn(hats[1:]) - quantile_fn(hats[:-1])
    assert stationarity.abs().max() < 1e-3
    learned_w1 = _w1_to_staircase(fractions.numpy(), quantile_fn, grid=4001)
    assert learned_w1 < 0.85 * _w1_to_staircase(uniform, quantile_fn, grid=4001)


# ------------------------------------------------------------------ expectile loss and imputation (ER-DQN)


def test_expectile_loss_by_hand() -> None:
    pred = torch.tensor([[1.0, 2.0]], requires_grad=True)
    target = torch.tensor([[0.0, 3.0]])
    taus = torch.tensor([[0.25, 0.75]])
    # pair (i, j): u = target_j − pred_i; weight τ_i if u ≥ 0 else 1 − τ_i
    # i=0: u = −1 (w .75) and 2 (w .25): (.75 + 1)/2 = .875;  i=1: u = −2 (w .25), 1 (w .75): (1 + .75)/2 = .875
    loss = expectile_loss(pred, target, taus)
    assert loss.item() == pytest.approx(1.75)
    loss.sum().backward()
    # d/dpred_i = −2 mean_j w u: i=0: −(−.75·1 + .25·2) = .25; i=1: −(.25·(−2) + .75·1) = −.25
    np.testing.assert_allclose(pred.grad.numpy(), [[0.25, -0.25]])
    u = torch.tensor([[-1.5, 0.5, 2.0]])
    half = expectile_loss(torch.zeros(1, 1), u, torch.tensor([[0.5]]))
    assert half.item() == pytest.approx(0.5 * (u.square().mean()).item())  # τ = 0.5: half the squared error


def test_expectile_loss_learns_the_tau_expectile_not_one_minus_tau() -> None:
    samples = torch.tensor([[0.0, 0.0, 1.0, 10.0]])
    taus = torch.tensor([[0.1, 0.9]])
    pred = torch.zeros(1, 2, requires_grad=True)
    optimizer = torch.optim.SGD([pred], lr=0.2)
    for _ in range(2000):
        optimizer.zero_grad()
        expectile_loss(pred, samples, taus).sum().backward()
        optimizer.step()
    values, probs = np.array([0.0, 1.0, 10.0]), np.array([0.5, 0.25, 0.25])
    expected = [expectile_bisection(values, probs, 0.1), expectile_bisection(values, probs, 0.9)]
    np.testing.assert_allclose(pred.detach().numpy()[0], expected, atol=1e-4)


def _sample_sets(num_sets: int, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.1, 5.0, (num_sets, 1))
    skew = rng.exponential(3.0, (num_sets, size)) * (np.arange(num_sets) % 2)[:, None]
    return rng.normal(size=(num_sets, size)) * scale + skew


@pytest.mark.parametrize("size", [5, 15, 31])
def test_imputation_recovers_samples_whose_expectiles_are_given(size: int) -> None:
    """Random sample sets of N = 5, 15, 31 points; their expectiles at τ = (2i+1)/2N are the input, so an
    exact N-sample solution exists. Bounds: the residual of every expectile condition below 2% of the
    samples' standard deviation (measured max 1.0%, 0.6%, 0.3% for N = 5, 15, 31) and W1 to the generating
    samples below 20% of it (measured mean 4-5%, max 12%). Levenberg–Marquardt can stop in a local minimum
    of the piecewise-quadratic objective, which is why these are bounds and not equalities."""
    taus = (2 * np.arange(size) + 1) / (2 * size)
    samples = _sample_sets(32, size, seed=size)
    targets = np.stack([expectiles(s, None, taus) for s in samples])
    imputed = impute_expectile_samples(torch.from_numpy(targets), torch.from_numpy(taus))
    assert imputed.dtype == torch.float64 and (imputed.diff(dim=-1) >= 0).all()
    taus_batch = torch.from_numpy(taus).expand(32, -1)
    residual, _ = expectile_imputation_residual(imputed, torch.from_numpy(targets), taus_batch)
    sd = samples.std(axis=1)
    assert (residual.abs().max(dim=1).values.numpy() / sd).max() < 0.02
    w1 = np.array([wasserstein1(s, None, z, None) for s, z in zip(samples, imputed.numpy(), strict=True)])
    assert (w1 / sd).max() < 0.2
    # every imputed set's expectiles, by the bisection reference, sit close to the targets
    row = 0
    recomputed = [expectile_bisection(imputed[row].numpy(), np.full(size, 1 / size), t) for t in taus]
    np.testing.assert_allclose(recomputed, targets[row], atol=0.05 * sd[row])


def test_imputation_of_a_point_mass_and_batch_independence() -> None:
    taus = torch.tensor([0.1, 0.5, 0.9])
    point = torch.full((1, 3), 4.0)
    torch.testing.assert_close(impute_expectile_samples(point, taus), point)
    batch = torch.tensor([[0.0, 1.0, 2.0], [3.0, 3.5, 6.0]])
    together = impute_expectile_samples(batch, taus)
    alone = torch.cat([impute_expectile_samples(row[None], taus) for row in batch])
    torch.testing.assert_close(together, alone)
    assert impute_expectile_samples(batch.float(), taus).dtype == torch.float32
