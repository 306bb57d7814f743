"""Pure loss functions of the agents: tensors and explicit scalars in, tensors out, no config.

Conventions shared by every function here (and by the ones the distributional heads append):
- Shapes are written `[B]` (batch), `[B, N]` (atoms / online quantiles), `[B, M]` (target samples).
- Every loss returns a per-sample `[B]` vector. The agent multiplies it by the importance weights of
  prioritized replay and takes the mean, and uses the same vector as the new priorities, so a loss
  must never reduce over the batch axis itself.
- Targets are constants: each loss detaches its `target` argument (stop-gradient, Mnih et al. 2015),
  so a caller that forgot `torch.no_grad()` still gets the semi-gradient TD update.
- The TD error is `target - prediction` (the sign quantile losses depend on).

Equation numbers refer to the paper named in each docstring.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

__all__ = [
    "huber",
    "expected_value_td_loss",
    "categorical_projection",
    "categorical_cross_entropy",
    "quantile_huber_loss",
    "fraction_loss",
]


def huber(x: Tensor, kappa: float = 1.0) -> Tensor:
    """Elementwise Huber function (Huber 1964; Mnih et al. 2015 "error clipping"), any shape.

        H_κ(x) = ½ x²            if |x| ≤ κ
               = κ (|x| − ½ κ)   otherwise

    Quadratic near zero, linear beyond κ, so dH/dx = clip(x, −κ, κ): a TD error larger than κ
    contributes a gradient of magnitude κ, never more. This is the κ of quantile Huber regression
    (Dabney et al. 2018, Eq. 9 defines L_κ the same way). `kappa` must be > 0 (κ = 0 gives 0 everywhere).

    Written with a clamp rather than `torch.where` so that the gradient is exactly clip(x, −κ, κ)
    and no branch is evaluated on values outside its domain.
    """
    abs_x = x.abs()
    quadratic = abs_x.clamp(max=kappa)  # min(|x|, κ)
    linear = abs_x - quadratic  # max(|x| − κ, 0)
    # ½ min(|x|,κ)² + κ max(|x|−κ, 0) equals both branches above.
    return 0.5 * quadratic.square() + kappa * linear


def expected_value_td_loss(q_selected: Tensor, target: Tensor, kappa: float | None = 1.0) -> Tensor:
    """Per-sample Huber TD loss of DQN (Mnih et al. 2015, Eq. 2 with error clipping) -> [B].

        L_i = H_κ(y_i − Q(s_i, a_i)),   y_i = r_i + d_i · Q_target(s'_i, a'_i)

    With `kappa=None` the loss is the squared error (y_i − Q(s_i, a_i))², without H_κ's ½: Dopamine's
    JAX DQN default (`loss_type='mse'`; `dopamine/jax/losses.py` `mse_loss` is δ²), and Revisiting
    Rainbow's `mse_inf` on MinAtar.

    Args:
        q_selected: [B] online Q(s, a) of the actions taken (carries the gradient).
        target: [B] bootstrap target y (detached here: no gradient flows into the target).
        kappa: Huber threshold κ (1.0 in DQN); None for the squared error.

    Returns:
        [B] per-sample loss, not reduced over the batch (see module docstring).
    """
    error = target.detach() - q_selected
    if kappa is None:
        return error.square()
    return huber(error, kappa)


# ----------------------------------------------------------------------------------------------------
# Distributional losses: C51, QR-DQN, IQN, FQF
# ----------------------------------------------------------------------------------------------------


def categorical_projection(next_probs: Tensor, rewards: Tensor, discounts: Tensor, support: Tensor) -> Tensor:
    """Project the shifted distribution r + γ·Z(s', a*) back onto the fixed support (C51).

    Bellemare et al. 2017, Algorithm 1, written in the hat-function form of their Eq. 7 (as Dopamine's
    `project_distribution`) instead of Algorithm 1's floor/ceil scatter: target atom i receives

        m_i = Σ_j p_j · clamp(1 − |clamp(r + γ z_j, v_min, v_max) − z_i| / Δz, 0, 1).

    Clamping Tz_j to [v_min, v_max] first and using the hat weights means a Tz_j that lands exactly on
    an atom (the integer-b case of Algorithm 1, where l == u) gives that atom its whole mass, once;
    the hat functions of a uniform support sum to 1 at every point of [v_min, v_max], so every output
    row sums to 1 whenever `next_probs` rows do. O(B·N²) memory, which is ~80k floats at B=32, N=51.

    Args:
        next_probs: [B, N] probabilities of Z(s', a*) on `support` (the target net, no grad needed).
        rewards: [B] (n-step) rewards.
        discounts: [B] γⁿ·(1 − terminated); 0 ends the bootstrap (all mass on clamp(r)).
        support: [N] uniformly spaced atoms z_0 = v_min < … < z_{N-1} = v_max.

    Returns:
        [B, N] projected target probabilities.
    """
    v_min, v_max = support[0], support[-1]
    delta_z = support[1] - support[0]
    tz = (rewards[:, None] + discounts[:, None] * support[None, :]).clamp(v_min, v_max)  # [B, N_j]
    # hat[b, i, j] = weight that the shifted atom j gives to the fixed atom i
    hat = (1.0 - (tz[:, None, :] - support[None, :, None]).abs() / delta_z).clamp(0.0, 1.0)  # [B, N_i, N_j]
    return torch.einsum("bij,bj->bi", hat, next_probs)


def categorical_cross_entropy(logits: Tensor, target_probs: Tensor) -> Tensor:
    """Cross-entropy −Σ_i m_i log p_i(s, a) between a projected target and the online logits.

    Bellemare et al. 2017, Algorithm 1 (last line): the KL between the projected target Φ T̂ Z and
    Z_θ(s, a) up to the target's entropy, which has no gradient. `log_softmax` keeps it finite for
    very negative logits. As the per-sample PER priority it differs from Rainbow's KL by that entropy.

    Args:
        logits: [B, N] online logits of the taken action.
        target_probs: [B, N] projected target probabilities (treated as constants).

    Returns:
        [B] per-sample loss.
    """
    return -(target_probs.detach() * F.log_softmax(logits, dim=-1)).sum(-1)


def quantile_huber_loss(
    predictions: Tensor, targets: Tensor, taus: Tensor, kappa: float, target_weights: Tensor | None = None
) -> Tensor:
    """Quantile Huber loss of QR-DQN, IQN and FQF.

    Dabney et al. 2018a (QR-DQN), Eq. 9–10 and Algorithm 1, with the 1/κ of Dabney et al. 2018b (IQN,
    Eq. 3): for every pair (online quantile i, target sample j) with TD error u_ij = target_j − prediction_i,

        ρ^κ_τ(u) = |τ_i − 1{u < 0}| · L_κ(u) / κ,   L_κ = `huber` with threshold κ,

    summed over the N online quantiles and averaged over the M target samples (or, given
    `target_weights`, their weighted mean: the target distribution puts mass w_j on sample j, as FQF's
    target does with its non-uniform fractions). The indicator carries
    no gradient (it is a constant weight). The 1/κ makes κ → 0 the plain quantile regression loss
    |τ − 1{u<0}|·|u| (QR-DQN Eq. 8), which κ = 0 computes exactly; at κ = 1 the two papers agree, and
    at τ = 0.5 the loss is half the Huber loss.
    A sign slip (u = prediction − target) silently learns the 1 − τ quantiles; tests pin the sign.

    Args:
        predictions: [B, N] online quantile values of the taken action.
        targets: [B, M] target quantile values / samples (detached here: they are the regression target).
        taus: [B, N] (or [1, N]/[N]) the fractions τ_i at which `predictions` were evaluated.
        kappa: Huber threshold κ ≥ 0 (1 in all three papers).
        target_weights: [B, M] probability of each target sample (rows sum to 1); None = 1/M each.

    Returns:
        [B] per-sample loss.

    Computed in O(B (N + M) log M) from sorted targets and prefix sums (`quantile_huber_sums`), with
    its gradient in closed form, instead of the [B, N, M] tensor of every pair
    (`quantile_huber_loss_pairwise`, the reference it is tested against): the pairwise form was about
    a third of a QR-DQN update (N = M = 200) on CPU. Gradient flows into `predictions` only.
    """
    return _SortedQuantileHuber.apply(predictions, targets, taus, target_weights, float(kappa))


def quantile_huber_loss_pairwise(
    predictions: Tensor, targets: Tensor, taus: Tensor, kappa: float, target_weights: Tensor | None = None
) -> Tensor:
    """`quantile_huber_loss` computed the way it is defined: the [B, N, M] tensor of every pair.

    The reference the fast path is tested against (and the form to read); same arguments and result,
    with autograd through the pairwise tensor. O(B·N·M) time and memory.
    """
    u = targets.detach()[:, None, :] - predictions[:, :, None]  # [B, N, M]
    taus = taus.detach().expand_as(predictions)[:, :, None]  # [B, N, 1]
    weight = (taus - (u.detach() < 0).to(u.dtype)).abs()
    elementwise = huber(u, kappa) / kappa if kappa > 0 else u.abs()
    pairwise = weight * elementwise  # [B, N, M]
    if target_weights is None:
        return pairwise.mean(dim=2).sum(dim=1)
    return (pairwise * target_weights.detach()[:, None, :]).sum(dim=(1, 2))


def quantile_huber_sums(
    predictions: Tensor, targets: Tensor, taus: Tensor, kappa: float, target_weights: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """The quantile Huber loss [B] and its gradient w.r.t. the predictions [B, N], without the pairs.

    For a fixed prediction p = θ_i the loss over the targets splits by u_j = t_j − p into four ranges
    (w_j = target weight, 1/M when uniform):

        u < −κ:      (1 − τ) w_j ((p − t_j) − κ/2)          u ≥ 0, u ≤ κ:  τ w_j (t_j − p)² / 2κ
        −κ ≤ u < 0:  (1 − τ) w_j (t_j − p)² / 2κ            u > κ:         τ w_j ((t_j − p) − κ/2)

    Each range's sum is a polynomial in p whose coefficients are sums of w, w·t and w·t² over the
    targets in that range; with the targets sorted these are differences of prefix sums, and the
    range boundaries (p − κ, p, p + κ) are found by binary search. Cost O(B (N + M) log M) instead of
    O(B·N·M). The loss and its derivative are continuous in every t_j, so targets on a boundary may
    fall either side (ties need no care). The derivative per range is (1 − τ) w_j,
    −(1 − τ) w_j (t_j − p)/κ, −τ w_j (t_j − p)/κ and −τ w_j. κ = 0 leaves only the two linear ranges
    (split at u = 0; a tie u = 0 gets gradient 0, as autograd gives |u|).

    Precision: the quadratic ranges expand (t − p)² = t² − 2pt + p² and take differences of prefix
    sums, which cancel when |t| ≫ κ (at returns ~1e7, even in float64, most of the loss's digits are
    lost). The loss depends only on u = t − p, so each row's targets and predictions are first
    shifted by the same constant, the row's median target: the sums then see the spread of the row,
    not its offset. They also run in float64.

    Args and shapes as `quantile_huber_loss`. Returns (loss [B], d loss / d predictions [B, N]),
    both in the predictions' dtype, no autograd graph.
    """
    batch_size, num_predictions = predictions.shape
    num_targets = targets.shape[1]
    f64 = torch.float64
    tau = taus.detach().to(f64).expand(batch_size, num_predictions)
    t_sorted, order = targets.detach().to(f64).sort(dim=1)
    centre = t_sorted[:, num_targets // 2].unsqueeze(1)  # [B, 1] the median target; u is unchanged by the shift
    t_sorted = t_sorted - centre
    p = predictions.detach().to(f64) - centre
    if target_weights is None:
        w = torch.full_like(t_sorted, 1.0 / num_targets)
    else:
        w = target_weights.detach().to(f64).gather(1, order)
    zero = t_sorted.new_zeros(batch_size, 1)
    # Prefix sums over sorted targets: cum_*[:, k] = Σ_{j<k} of w, w·t, w·t².
    cum_w = torch.cat([zero, w.cumsum(1)], 1)
    cum_wt = torch.cat([zero, (w * t_sorted).cumsum(1)], 1)
    cum_wt2 = torch.cat([zero, (w * t_sorted.square()).cumsum(1)], 1)

    p_square, two_p = p.square(), 2 * p
    cums = (cum_w, cum_wt, cum_wt2)

    def prefix_at(*bounds: Tensor) -> list[tuple[Tensor, Tensor, Tensor]]:
        """(cum_w, cum_wt, cum_wt2) at each of `bounds` [B, N]: one gather per prefix sum for all bounds."""
        index = torch.cat(bounds, 1)
        return list(zip(*(c.gather(1, index).split(num_predictions, 1) for c in cums), strict=True))

    def range_sums(
        lo: tuple[Tensor, ...] | None, hi: tuple[Tensor, ...] | None, squares: bool = True
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """Σ w, Σ w (t − p), Σ w (t − p)² (if `squares`) over sorted targets lo ≤ k < hi, each [B, N],
        from the prefix sums at lo and hi (`prefix_at`); lo None is the first target, hi None the end."""
        hi = tuple(c[:, -1:] for c in cums) if hi is None else hi
        sw, swt, swt2 = hi if lo is None else (hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2])
        return sw, swt - sw * p, swt2 - two_p * swt + sw * p_square if squares else None

    one_minus_tau = 1 - tau
    split = torch.searchsorted(t_sorted, p)  # first target with u >= 0
    if kappa > 0:
        low = torch.searchsorted(t_sorted, p - kappa)  # first target with u >= −κ
        high = torch.searchsorted(t_sorted, p + kappa, right=True)  # first target with u > κ
        at_low, at_split, at_high = prefix_at(low, split, high)
        w1, d1, _ = range_sums(None, at_low, squares=False)
        w2, d2, q2 = range_sums(at_low, at_split)
        w3, d3, q3 = range_sums(at_split, at_high)
        w4, d4, _ = range_sums(at_high, None, squares=False)
        below = -d1 - 0.5 * kappa * w1 + q2 / (2 * kappa)
        above = q3 / (2 * kappa) + d4 - 0.5 * kappa * w4
        grad = one_minus_tau * (w1 - d2 / kappa) + tau * (-d3 / kappa - w4)
    else:  # targets equal to p add nothing and, as |u|'s subgradient 0 at u = 0, no gradient
        at_split, at_right = prefix_at(split, torch.searchsorted(t_sorted, p, right=True))
        w1, d1, _ = range_sums(None, at_split, squares=False)
        w4, d4, _ = range_sums(at_right, None, squares=False)
        below, above = -d1, d4
        grad = one_minus_tau * w1 - tau * w4
    loss = (one_minus_tau * below + tau * above).sum(1)
    return loss.to(predictions.dtype), grad.to(predictions.dtype)


class _SortedQuantileHuber(torch.autograd.Function):
    """Autograd wrapper of `quantile_huber_sums`: gradient into the predictions only (targets, taus
    and target weights are constants of the loss, as in the pairwise form). No double backward."""

    @staticmethod
    def forward(
        ctx: Any, predictions: Tensor, targets: Tensor, taus: Tensor, target_weights: Tensor | None, kappa: float
    ) -> Tensor:
        loss, grad = quantile_huber_sums(predictions, targets, taus, kappa, target_weights)
        ctx.save_for_backward(grad)
        return loss

    @staticmethod
    def backward(ctx: Any, grad_loss: Tensor) -> tuple[Tensor | None, ...]:
        (grad,) = ctx.saved_tensors
        return grad_loss[:, None] * grad, None, None, None, None


__all__ += ["quantile_huber_loss_pairwise", "quantile_huber_sums"]


def fraction_loss(interior_values: Tensor, hat_values: Tensor, interior_taus: Tensor) -> Tensor:
    """Surrogate loss whose gradient w.r.t. the proposed fractions is the 1-Wasserstein gradient (FQF).

    Yang et al. 2019 (FQF), Proposition 1: for a non-decreasing quantile function F⁻¹,

        ∂W1/∂τ_i = 2 F⁻¹(τ_i) − F⁻¹(τ̂_i) − F⁻¹(τ̂_{i−1}),   i = 1 … N−1,

    with τ̂_i = (τ_i + τ_{i+1}) / 2. The quantile values enter only as constants (the quantile network
    gets no gradient from this loss), so the loss is (∂W1/∂τ).detach() · τ summed over the interior
    fractions; its gradient w.r.t. `interior_taus` is exactly Proposition 1, and backpropagation then
    carries it into the fraction-proposal network through τ. τ_0 = 0 and τ_N = 1 are fixed.

    Args:
        interior_values: [B, N−1] F⁻¹(τ_i) of the taken action at the interior fractions τ_1 … τ_{N−1}.
        hat_values: [B, N] F⁻¹(τ̂_i) of the taken action at τ̂_0 … τ̂_{N−1}.
        interior_taus: [B, N−1] τ_1 … τ_{N−1}, with gradient to the proposal network.

    Returns:
        [B] per-sample loss (its value has no meaning; only its gradient does).
    """
    grad_w1 = 2.0 * interior_values - hat_values[:, 1:] - hat_values[:, :-1]  # [B, N−1]
    return (grad_w1.detach() * interior_taus).sum(dim=-1)


# ----------------------------------------------------------------------------------------------------
# Expectile regression with imputed target samples: ER-DQN (Rowland et al. 2019)
# ----------------------------------------------------------------------------------------------------

__all__ += ["expectile_loss", "expectile_imputation_residual", "impute_expectile_samples"]


def expectile_loss(predictions: Tensor, targets: Tensor, taus: Tensor) -> Tensor:
    """Expectile regression loss of ER-DQN (Rowland et al. 2019, "Statistics and samples in
    distributional reinforcement learning", EDRL), the asymmetric squared loss whose minimiser is the
    τ-expectile (Newey & Powell 1987): for every pair (online expectile i, target sample j) with
    u_ij = target_j − prediction_i,

        ER_τ(u) = |τ_i − 1{u < 0}| · u²,

    summed over the N online expectiles and averaged over the M target samples (as `quantile_huber_loss`).
    The weight carries no gradient. At τ = 0.5 it is ½ u², half the squared TD error, whose minimiser is
    the mean. The gradient −∂/∂e_i = 2|τ_i − 1{u<0}| u is the asymmetrically scaled TD error of
    distributional TD in Dabney et al. 2020: positive errors weighted by τ, negative ones by 1 − τ.

    Args:
        predictions: [B, N] online expectiles of the taken action.
        targets: [B, M] target samples (detached here), e.g. r + γ·(imputed samples of Z(s', a*)).
        taus: [B, N] (or [1, N]/[N]) the asymmetries τ_i of the predictions.

    Returns:
        [B] per-sample loss.
    """
    u = targets.detach()[:, None, :] - predictions[:, :, None]  # [B, N, M]
    taus = taus.detach().expand_as(predictions)[:, :, None]  # [B, N, 1]
    weight = (taus - (u.detach() < 0).to(u.dtype)).abs()
    return (weight * u.square()).mean(dim=2).sum(dim=1)


def expectile_imputation_residual(samples: Tensor, expectiles: Tensor, taus: Tensor) -> tuple[Tensor, Tensor]:
    """How far `expectiles` are from being the expectiles of the equally weighted `samples`, and its Jacobian.

        g_i(z) = (1/M) Σ_j |τ_i − 1{z_j < e_i}| (z_j − e_i),      J_ij = ∂g_i/∂z_j = |τ_i − 1{z_j < e_i}| / M

    g_i = 0 is the first-order condition of the expectile loss of the samples at e_i (−½ its derivative),
    so g = 0 exactly when every e_i is the τ_i-expectile of the samples' empirical distribution: the
    imputation condition of EDRL (Rowland et al. 2019). g is continuous and piecewise linear in z (the
    weight switches where z_j − e_i = 0, where its term vanishes), so J is exact inside each piece.

    Args:
        samples: [B, M] candidate samples z.
        expectiles: [B, N] target expectiles e.
        taus: [B, N] their asymmetries τ.

    Returns:
        (g [B, N], J [B, N, M]).
    """
    u = samples[:, None, :] - expectiles[:, :, None]  # [B, N, M]
    weight = torch.where(u < 0, 1.0 - taus[..., None], taus[..., None])
    num_samples = samples.shape[-1]
    return (weight * u).sum(-1) / num_samples, weight / num_samples


def impute_expectile_samples(
    expectiles: Tensor, taus: Tensor, num_iterations: int = 10, damping: float = 1e-2
) -> Tensor:
    """Samples whose expectiles at `taus` are `expectiles`: EDRL's imputation step (Rowland et al. 2019).

    Solves min_z ½‖g(z)‖² (`expectile_imputation_residual`, M = N samples per row) by Levenberg–Marquardt:
    each iteration solves (JᵀJ + λ·s·I) Δ = −Jᵀg (s = mean diagonal of JᵀJ, so λ is scale free) by Cholesky,
    keeps the step in the rows where it lowers ½‖g‖², and shrinks λ there (×0.2) or grows it elsewhere (×5). Starts
    from z = e, the right answer for a point mass, whose expectiles are all equal. A fixed number of
    iterations and per-row `torch.where` instead of a convergence test: no host sync on a GPU. Computed
    in float64 (the normal equations square the condition number) and returned sorted, in the input dtype.

    g is piecewise linear, so the minimum need not be 0 (not every expectile vector is that of N equally
    weighted samples) and LM can stop in a local minimum; the tests bound the residual on distributions
    that have an exact N-sample solution and the W1 error of the decoded distribution on ones that do not.

    Args:
        expectiles: [B, N] statistics e_i, e.g. the target network's expectiles of Z(s', a*).
        taus: [N], [1, N] or [B, N] their asymmetries τ_i in (0, 1).
        num_iterations: LM iterations (each one batched linear solve of [B, N, N]).
        damping: initial λ.

    Returns:
        [B, N] samples z, sorted along the last axis (no gradient: an imputed target is a constant).
    """
    dtype = expectiles.dtype
    with torch.no_grad():
        e = expectiles.detach().to(torch.float64)
        taus = taus.detach().to(torch.float64).expand_as(e)
        z = e.clone()
        g, jac = expectile_imputation_residual(z, e, taus)
        objective = 0.5 * g.square().sum(-1)
        lam = torch.full_like(objective, damping)
        eye = torch.eye(z.shape[-1], dtype=z.dtype, device=z.device)
        for _ in range(num_iterations):
            jac_t = jac.transpose(1, 2)
            normal = jac_t @ jac  # [B, M, M]
            scale = torch.diagonal(normal, dim1=1, dim2=2).mean(-1)
            # Cholesky of the damped normal matrix (SPD); `_ex` reports failure in `info` instead of a host
            # sync, and a failed row gives a non-finite step, which the test below rejects.
            factor = torch.linalg.cholesky_ex(normal + (lam * scale)[:, None, None] * eye).L
            z_new = z + torch.cholesky_solve(-(jac_t @ g[..., None]), factor)[..., 0]
            g_new, jac_new = expectile_imputation_residual(z_new, e, taus)
            objective_new = 0.5 * g_new.square().sum(-1)
            better = objective_new < objective
            z = torch.where(better[:, None], z_new, z)
            g = torch.where(better[:, None], g_new, g)
            jac = torch.where(better[:, None, None], jac_new, jac)
            objective = torch.where(better, objective_new, objective)
            lam = torch.where(better, lam * 0.2, lam * 5.0).clamp(1e-10, 1e10)
        return z.sort(dim=-1).values.to(dtype)
