"""Heads: torso features -> a return distribution per action (`ReturnDist`), its target and its loss.

Every agent is the same learner with a different head. A head implements the `Head` contract below,
and the `Agent` calls nothing else, so a new head needs only: a `Head` subclass (composing
`AtomLinear` or `QuantileFunction` with the pure functions of `agents/losses.py`), a builder for it in
`agents/__init__.py`, and, if its `param_groups` name a group other than "main", that group's
optimizer there too; the agent does not change.

Axis order is always [batch, action, atom] = [B, A, N].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from agents.losses import (
    categorical_cross_entropy,
    categorical_projection,
    expected_value_td_loss,
    expectile_loss,
    fraction_loss,
    impute_expectile_samples,
    quantile_huber_loss,
)
from agents.taus import midpoint_taus

__all__ = [
    "TAU_ROLES",
    "ExpectileHead",
    "ReturnDist",
    "FractionReturnDist",
    "TargetDist",
    "Head",
    "AtomLinear",
    "ExpectedValueHead",
    "gather_action",
    "CategoricalHead",
    "MidpointStatisticsHead",
    "QuantileHead",
    "QuantileRegression",
    "CosineEmbedding",
    "QuantileFunction",
    "ImplicitQuantileHead",
    "FractionProposal",
    "FractionQuantileHead",
]

TAU_ROLES = ("online", "target", "act")
"""Roles of `Head.num_taus`: online dist on obs, target dist on next_obs, Q for acting and argmax."""


@dataclass(frozen=True, eq=False)
class ReturnDist:
    """A return distribution per action, as atoms with probabilities.

    Attributes:
        values: [B, A, N] atom values: Q itself for N=1 (DQN), the fixed support broadcast for C51,
            quantile values for QR-DQN/IQN/FQF, expectiles for ER-DQN.
        probs: atom probabilities, [B, A, N] or broadcastable to it ([B, 1, N], [1, 1, N]):
            ones for DQN, softmax(logits) for C51, 1/N for QR-DQN/IQN, τ_{i+1} − τ_i for FQF
            (ER-DQN: one-hot at τ = 0.5, the mean, since its values are statistics, not atoms).
        logits: [B, A, N] C51 atom logits (the loss uses log_softmax of these), else None.
        taus: [B, N] quantile fractions at which `values` are evaluated (QR-DQN/IQN/FQF, ER-DQN's
            asymmetries), else None.
    """

    values: Tensor
    probs: Tensor
    logits: Tensor | None = None
    taus: Tensor | None = None

    def q_values(self) -> Tensor:
        """[B, A] expected return per action: Q(s, a) = Σ_i p_i z_i (Bellemare et al. 2017, Eq. 1)."""
        return (self.values * self.probs).sum(-1)

    def return_sd(self) -> Tensor:
        """[B, A] standard deviation of the return per action, √(Σ_i p_i (z_i − Q(s, a))²); meaningful only where
        `values` are atoms (`Head.predicts_return_atoms`)."""
        deviation = self.values - self.q_values().unsqueeze(-1)
        return (deviation.square() * self.probs).sum(-1).sqrt()


@dataclass(frozen=True, eq=False, kw_only=True)
class FractionReturnDist(ReturnDist):
    """FQF's prediction: a `ReturnDist` at the hat fractions plus what its fraction loss reads.

    Attributes:
        fractions: [B, N + 1] proposed τ_0 = 0 < … < τ_N = 1, with gradient into the proposal net.
        fraction_log_probs: [B, N] log(τ_{i+1} − τ_i), with gradient (the entropy term).
        features: [B, F] the torso output, detached (the fraction loss reads F⁻¹ at τ_1 … τ_{N−1}).
    """

    fractions: Tensor
    fraction_log_probs: Tensor
    features: Tensor


@dataclass(frozen=True, eq=False)
class TargetDist:
    """The bootstrap target of each transition as a distribution on M atoms, what `Head.target` returns.

    Attributes:
        values: [B, M] atoms: the TD target y (DQN, M = 1), the support (C51), target quantile
            samples r + d·F⁻¹(s', a'; τ'_j) (QR-DQN/IQN/FQF), imputed samples (ER-DQN).
        weights: [B, M] each atom's probability (rows sum to 1): C51's projected probabilities,
            the target net's atom masses for the quantile heads (τ'_{j+1} − τ'_j for FQF); None
            means 1/M each.
    """

    values: Tensor
    weights: Tensor | None = None


def gather_action(x: Tensor, action: Tensor) -> Tensor:
    """Select one action per row: x [B, A, ...], action [B] int64 -> [B, ...]."""
    index = action.view(-1, *([1] * (x.dim() - 1))).expand(-1, 1, *x.shape[2:])
    return x.gather(1, index).squeeze(1)


class Head(nn.Module):
    """The contract every head implements (a base class; override the methods marked required).

    The agent's update, in terms of these methods (B = batch size, Q = q_values; the agent draws
    τ_role ~ U(0, 1) [B, num_taus(role)] from its own `agents.taus.TauSampler`, None where 0):

        dist = head(torso(obs), τ_online)                                        # with grad
        next_dist = target_net(next_obs, τ_target)                                # no grad
        next_action = argmax_a Q(target_net(next_obs, τ_act))   or, double-Q, argmax_a Q(online(next_obs, τ_act))
        target = head.target(next_dist, next_action, reward, discount)           # TargetDist, no grad
        losses = head.loss(dist, action, target)          # {group: [B]}, "main" always present
        sum_g mean(losses[g] * weight) -> one backward -> clip per group -> step each group's optimizer

    A head that samples τ gets fresh τ_act for the argmax, as in IQN's Algorithm 1 (Dabney et al.
    2018b), DQN Zoo and Dopamine: picking a* from the same N' samples that then form the target would
    bias the target upwards. Without sampled fractions τ_act is None and the argmax reads next_dist.
    The methods are called on the ONLINE head (the target network's head is used only through its
    forward), so buffers such as a C51 support are read from the online head.
    """

    predicts_return_atoms: bool = False
    """Whether `forward`'s values are atoms of a return distribution with masses `probs` (C51, QR-DQN, IQN,
    FQF), so that its spread (`ReturnDist.return_sd`, logged as `q/sd`) is defined: not DQN's point estimate
    nor ER-DQN's expectiles, which are statistics."""

    graph_capturable: bool = True
    """Whether its update can run inside a CUDA graph (`agent.compile=graph`): no op that the capture
    refuses (host syncs, or library calls such as MAGMA's batched solves that allocate as they run)."""

    def forward(self, features: Tensor, taus: Tensor | None = None) -> ReturnDist:  # required
        """features [B, F] (+ taus [B, N] for sampled-fraction heads) -> ReturnDist, values [B, A, N]."""
        raise NotImplementedError

    def num_taus(self, role: str) -> int:
        """How many fractions τ ~ U(0, 1) per row `forward` takes in `role` (TAU_ROLES); 0: none (default).

        Only IQN-like heads sample; heads with fixed atoms, and FQF (which proposes its fractions
        inside forward), take none.
        """
        return 0

    def target(self, next_dist: ReturnDist, next_action: Tensor, reward: Tensor, discount: Tensor) -> TargetDist:
        """Bootstrap target from the target net's next_dist [B, A, N], next_action [B], reward [B],
        discount [B] (= γ^k (1 − terminated), already built by the replay). Required.

        Called under torch.no_grad(); returns the target distribution of every transition.
        """
        raise NotImplementedError

    def loss(self, dist: ReturnDist, action: Tensor, target: TargetDist) -> dict[str, Tensor]:
        """Per-sample losses keyed by parameter group: {"main": [B], ...}. Required.

        `dist` is what this head's forward returned on obs (with gradient), `action` [B] the actions
        taken, `target` what `self.target` returned. A head whose loss needs more than the
        distribution (FQF's fraction loss) returns it in its own `ReturnDist` subclass. The agent
        backpropagates the SUM of all groups' weighted means once, so each entry must carry gradient
        only into its own group's parameters: detach across groups (e.g. FQF's quantile loss reads
        detached fractions, its fraction loss detached features and quantile values).
        """
        raise NotImplementedError

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """This head's parameters by optimizer group; default {"main": all}. FQF adds "fraction".

        The agent adds the torso's parameters to "main" and builds one optimizer per group; every
        parameter must appear in exactly one group.
        """
        return {"main": list(self.parameters())}


def _stream(in_features: int, hidden: int, out_features: int) -> nn.Sequential:
    """Linear(in, hidden) -> ReLU -> Linear(hidden, out); a single Linear(in, out) when hidden = 0."""
    if hidden <= 0:
        return nn.Sequential(nn.Linear(in_features, out_features))
    return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, out_features))


def _modulated_stream(stream: nn.Sequential, features: Tensor, modulation: Tensor) -> Tensor:
    """stream(features[:, None, :] ⊙ modulation): features [B, F], modulation [B, N, F] -> [B, N, out].

    The first layer is linear in its input, so (ψ ⊙ φ_n) Wᵀ = φ_n (W ⊙ ψ)ᵀ. When that layer is narrower
    than N (IQN without a hidden layer: out = A), one batched matmul with per-row weights W ⊙ ψ
    [B, out, F] replaces the [B, N, F] product and its backward, which dominate such an update on a
    CPU; the two orders differ only by float rounding. Wider layers take the product as written.
    """
    first = stream[0]
    if first.out_features < modulation.shape[1]:
        row_weights = features[:, None, :] * first.weight  # [B, out, F]
        out = torch.baddbmm(first.bias, modulation, row_weights.transpose(1, 2))
    else:
        out = first(features[:, None, :] * modulation)
    return stream[1:](out)


class AtomLinear(nn.Module):
    """Features [..., F] -> atom outputs [..., A, N] through one hidden layer (512 in Nature DQN).

    With `dueling` (Wang et al. 2016, Eq. 9) there are two streams, each with its own hidden layer:
    a value stream V [..., 1, N] and an advantage stream A [..., A, N], combined per atom as

        out[..., a, i] = V[..., i] + A[..., a, i] − mean_a' A[..., a', i]

    so that mean_a out = V (the mean over actions recovers the value stream). Heads apply it to
    whatever their atoms are (Q for DQN, logits for C51 as Rainbow does, quantile values).

    Leading dimensions are free; IQN and FQF call `forward_modulated` with features [B, F] and φ(τ)
    [B, N, F] (num_atoms=1) and permute the [B, N, A, 1] result to [B, A, N].

    `action_stream` gives the per-action outputs (the advantage stream when dueling);
    `value_stream` exists only when dueling. `hidden = 0` drops the hidden layer (one Linear).
    """

    def __init__(
        self, in_features: int, hidden: int, num_actions: int, num_atoms: int, dueling: bool
    ) -> None:
        super().__init__()
        self.num_actions = num_actions
        self.num_atoms = num_atoms
        self.dueling = dueling
        self.action_stream = _stream(in_features, hidden, num_actions * num_atoms)
        self.value_stream = _stream(in_features, hidden, num_atoms) if dueling else None

    def forward(self, features: Tensor) -> Tensor:
        """[..., F] -> [..., A, N]."""
        value = None if self.value_stream is None else self.value_stream(features)
        return self._combine(self.action_stream(features), value)

    def forward_modulated(self, features: Tensor, modulation: Tensor) -> Tensor:
        """forward(features[:, None, :] ⊙ modulation) for features [B, F], modulation [B, N, F] -> [B, N, A, atoms],
        computed as `_modulated_stream` says (IQN's and FQF's ψ(x) ⊙ φ(τ))."""
        value = None if self.value_stream is None else _modulated_stream(self.value_stream, features, modulation)
        return self._combine(_modulated_stream(self.action_stream, features, modulation), value)

    def _combine(self, action_out: Tensor, value_out: Tensor | None) -> Tensor:
        """Stream outputs [..., A·atoms] and [..., atoms] (None without dueling) -> [..., A, atoms] (Eq. 9)."""
        out = action_out.unflatten(-1, (self.num_actions, self.num_atoms))
        if value_out is None:
            return out
        value = value_out.unsqueeze(-2)  # [..., 1, N]
        return value + out - out.mean(dim=-2, keepdim=True)


class ExpectedValueHead(Head):
    """DQN's head (Mnih et al. 2015): one value per action (N = 1), Huber (or squared) TD loss, optional dueling.

    forward -> ReturnDist(values = Q [B, A, 1], probs = ones [1, 1, 1]), so q_values() = Q.
    """

    def __init__(
        self, in_features: int, num_actions: int, hidden: int = 512, dueling: bool = False, kappa: float = 1.0,
        loss: str = "huber",
    ) -> None:
        super().__init__()
        if loss not in ("huber", "mse"):
            raise ValueError(f"unknown DQN loss '{loss}'; valid: huber, mse")
        self.net = AtomLinear(in_features, hidden, num_actions, 1, dueling)
        self.kappa = kappa
        self.squared_loss = loss == "mse"
        self.register_buffer("probs", torch.ones(1, 1, 1), persistent=False)

    def forward(self, features: Tensor, taus: Tensor | None = None) -> ReturnDist:
        """features [B, F] -> ReturnDist with values [B, A, 1]; `taus` is ignored."""
        return ReturnDist(values=self.net(features), probs=self.probs)

    def target(self, next_dist: ReturnDist, next_action: Tensor, reward: Tensor, discount: Tensor) -> TargetDist:
        """The point mass y = r + d · Q_target(s', a') -> values [B, 1] (Mnih et al. 2015, Eq. 2;
        van Hasselt et al. 2016, Eq. 4 when a' comes from the online network)."""
        return TargetDist((reward + discount * gather_action(next_dist.q_values(), next_action))[:, None])

    def loss(self, dist: ReturnDist, action: Tensor, target: TargetDist) -> dict[str, Tensor]:
        """{"main": H_κ(y − Q(s, a))}, or (y − Q(s, a))² with loss="mse", per sample [B]."""
        q_selected = gather_action(dist.q_values(), action)
        kappa = None if self.squared_loss else self.kappa
        return {"main": expected_value_td_loss(q_selected, target.values[:, 0], kappa)}


# ----------------------------------------------------------------------------------------------------
# Distributional heads: C51, QR-DQN, IQN, FQF
# ----------------------------------------------------------------------------------------------------


class CategoricalHead(Head):
    """C51's head (Bellemare et al. 2017): a categorical distribution on a fixed support per action.

    forward -> ReturnDist(values = support [B, A, N] (a broadcast view), probs = softmax(logits),
    logits [B, A, N]); q_values() = Σ_i z_i p_i (Eq. 1). The support z_i = v_min + i Δz,
    Δz = (v_max − v_min)/(N − 1), is a buffer. With `dueling`, AtomLinear combines value and
    advantage per atom on the logits (as Rainbow does). Target: the projection Φ of r + d·z onto the
    support under the target net's probabilities at the bootstrap action (Algorithm 1); loss: the
    cross-entropy to it.
    """

    predicts_return_atoms = True

    def __init__(
        self,
        in_features: int,
        num_actions: int,
        hidden: int = 512,
        dueling: bool = False,
        num_atoms: int = 51,
        v_min: float = -10.0,
        v_max: float = 10.0,
    ) -> None:
        super().__init__()
        if num_atoms < 2 or not v_min < v_max:
            raise ValueError(f"C51 needs num_atoms >= 2 and v_min < v_max; got {num_atoms}, [{v_min}, {v_max}]")
        self.net = AtomLinear(in_features, hidden, num_actions, num_atoms, dueling)
        self.register_buffer("support", torch.linspace(v_min, v_max, num_atoms), persistent=False)

    def forward(self, features: Tensor, taus: Tensor | None = None) -> ReturnDist:
        """features [B, F] -> ReturnDist with logits/probs [B, A, N]; `taus` is ignored."""
        logits = self.net(features)
        return ReturnDist(values=self.support.expand_as(logits), probs=logits.softmax(-1), logits=logits)

    def target(self, next_dist: ReturnDist, next_action: Tensor, reward: Tensor, discount: Tensor) -> TargetDist:
        """Φ(r + d·z) under p(s', a'): the support [B, N] with the projected probabilities [B, N] (Algorithm 1)."""
        next_probs = gather_action(next_dist.probs, next_action)
        projected = categorical_projection(next_probs, reward, discount, self.support)
        return TargetDist(self.support.expand_as(projected), projected)

    def loss(self, dist: ReturnDist, action: Tensor, target: TargetDist) -> dict[str, Tensor]:
        """{"main": −Σ_i m_i log p_i(s, a)} per sample [B], m = the target's weights on the same support."""
        return {"main": categorical_cross_entropy(gather_action(dist.logits, action), target.weights)}


def quantile_regression_loss(dist: ReturnDist, action: Tensor, target: TargetDist, kappa: float) -> Tensor:
    """Quantile Huber loss [B] of the taken action's quantiles (at dist.taus) against the target atoms:
    QR-DQN's Eq. 10, IQN's Eq. 3 over the N × N' pairs, FQF's quantile loss (weighted by the target's masses)."""
    return quantile_huber_loss(gather_action(dist.values, action), target.values, dist.taus, kappa, target.weights)


class QuantileRegression:
    """The target and loss every quantile head shares (QR-DQN, IQN; FQF adds its fraction loss to the
    loss); mixed into a `Head` whose forward gives quantile values at dist.taus and that sets `kappa`."""

    kappa: float

    def target(self, next_dist: ReturnDist, next_action: Tensor, reward: Tensor, discount: Tensor) -> TargetDist:
        """The target net's distribution at a', shifted and scaled: atoms r + d·F⁻¹(s', a'; τ'_j) [B, M],
        each with its probability in next_dist (1/M for QR-DQN and IQN, τ'_{j+1} − τ'_j for FQF).

        QR-DQN's Algorithm 1, IQN's T Z (Dabney et al. 2018b, Eq. 3), FQF's target (Yang et al. 2019)."""
        values = reward[:, None] + discount[:, None] * gather_action(next_dist.values, next_action)
        weights = gather_action(torch.broadcast_to(next_dist.probs, next_dist.values.shape), next_action)
        return TargetDist(values, weights)

    def loss(self, dist: ReturnDist, action: Tensor, target: TargetDist) -> dict[str, Tensor]:
        """{"main": `quantile_regression_loss`} per sample [B]."""
        return {"main": quantile_regression_loss(dist, action, target, self.kappa)}


class MidpointStatisticsHead(Head):
    """N statistics per action at the fixed fractions τ̂_i = (2i + 1)/(2N) (`midpoint_taus`), a buffer:
    the forward that QR-DQN's quantiles and ER-DQN's expectiles share. They differ in `probs` (how Q
    reads the statistics), in their target and in their loss, which each subclass defines.

    forward -> ReturnDist(values [B, A, N], probs, taus = τ̂ [B, N] (a broadcast view)).
    """

    def __init__(
        self, in_features: int, num_actions: int, hidden: int, dueling: bool, num_statistics: int, probs: Tensor
    ) -> None:
        super().__init__()
        self.net = AtomLinear(in_features, hidden, num_actions, num_statistics, dueling)
        self.register_buffer("taus", midpoint_taus(num_statistics)[None, :], persistent=False)  # [1, N]
        self.register_buffer("probs", probs, persistent=False)  # [1, 1, N]

    def forward(self, features: Tensor, taus: Tensor | None = None) -> ReturnDist:
        """features [B, F] -> ReturnDist with values [B, A, N]; `taus` is ignored."""
        values = self.net(features)
        return ReturnDist(values=values, probs=self.probs, taus=self.taus.expand(values.shape[0], -1))


class QuantileHead(QuantileRegression, MidpointStatisticsHead):
    """QR-DQN's head (Dabney et al. 2018a): N quantile values θ per action at the midpoints τ̂, probs 1/N.

    Target and loss (`QuantileRegression`): r + d·θ_target(s', a') [B, N] (Algorithm 1), quantile
    Huber with κ (Eq. 10).
    """

    predicts_return_atoms = True

    def __init__(
        self, in_features: int, num_actions: int, hidden: int = 512, dueling: bool = False,
        num_quantiles: int = 200, kappa: float = 1.0,
    ) -> None:
        if num_quantiles < 1:
            raise ValueError(f"num_quantiles must be >= 1; got {num_quantiles}")
        uniform = torch.full((1, 1, num_quantiles), 1.0 / num_quantiles)
        super().__init__(in_features, num_actions, hidden, dueling, num_quantiles, uniform)
        self.kappa = kappa


class CosineEmbedding(nn.Module):
    """IQN's fraction embedding φ(τ) (Dabney et al. 2018b, Eq. 4): [B, N] -> [B, N, F].

        φ_j(τ) = ReLU(Σ_{i=s}^{s+n−1} cos(π i τ) w_ij + b_j),   n = num_cosines (64 in the paper)

    The paper sums from s = 0 (its i = 0 cosine is the constant 1, a second bias); Dopamine's and
    Revisiting Rainbow's networks from s = 1 (`first_cosine`).
    """

    def __init__(self, num_cosines: int, out_features: int, first_cosine: int = 0) -> None:
        super().__init__()
        indices = torch.arange(first_cosine, first_cosine + num_cosines, dtype=torch.float32)
        self.register_buffer("frequencies", math.pi * indices, persistent=False)
        self.linear = nn.Linear(num_cosines, out_features)

    def forward(self, taus: Tensor) -> Tensor:
        """taus [B, N] in [0, 1] -> φ(τ) [B, N, F]."""
        return F.relu(self.linear(torch.cos(taus[..., None] * self.frequencies)))


class QuantileFunction(nn.Module):
    """F⁻¹(x, a; τ) of IQN and FQF: features [B, F] and fractions [B, N] -> values [B, A, N].

    Dabney et al. 2018b, Eq. 4: the torso features ψ(x) are modulated by φ(τ) with a Hadamard
    product, then AtomLinear (hidden layer, per-action output, optional dueling) gives one value per
    action and fraction: f(ψ(x) ⊙ φ(τ)).
    """

    def __init__(
        self, in_features: int, num_actions: int, hidden: int, dueling: bool, num_cosines: int, first_cosine: int = 0
    ) -> None:
        super().__init__()
        self.embedding = CosineEmbedding(num_cosines, in_features, first_cosine)
        self.net = AtomLinear(in_features, hidden, num_actions, 1, dueling)

    def forward(self, features: Tensor, taus: Tensor) -> Tensor:
        """features [B, F], taus [B, N] -> quantile values [B, A, N]."""
        out = self.net.forward_modulated(features, self.embedding(taus))  # [B, N, A, 1]
        return out.squeeze(-1).transpose(1, 2)  # [B, A, N]


class ImplicitQuantileHead(QuantileRegression, Head):
    """IQN's head (Dabney et al. 2018b): quantile values at sampled fractions τ ~ U(0, 1).

    forward(features, taus [B, N]) -> ReturnDist(values = F⁻¹(τ) [B, A, N], probs = 1/N, taus).
    `num_taus` asks the agent for N fractions for the online net, N' for the target net and K for
    acting (N = N' = 64, K = 32 in Sec. 5 of the paper), drawn i.i.d. per row.
    Target and loss (`QuantileRegression`): r + d·F⁻¹_target(s', a'; τ'_j) [B, N'], quantile Huber
    over the N × N' pairs with κ = 1 (Eq. 3).
    """

    predicts_return_atoms = True

    def __init__(
        self, in_features: int, num_actions: int, hidden: int = 512, dueling: bool = False, num_cosines: int = 64,
        num_online_taus: int = 64, num_target_taus: int = 64, num_act_taus: int = 32, kappa: float = 1.0,
        first_cosine: int = 0,
    ) -> None:
        super().__init__()
        self.quantile_function = QuantileFunction(in_features, num_actions, hidden, dueling, num_cosines, first_cosine)
        self.role_taus = {"online": num_online_taus, "target": num_target_taus, "act": num_act_taus}
        if min(self.role_taus.values()) < 1:
            raise ValueError(f"every number of fractions must be >= 1; got {self.role_taus}")
        self.kappa = kappa

    def num_taus(self, role: str) -> int:
        """N (online), N' (target) or K (act)."""
        if role not in self.role_taus:
            raise ValueError(f"unknown role '{role}'; valid: {', '.join(TAU_ROLES)}")
        return self.role_taus[role]

    def forward(self, features: Tensor, taus: Tensor | None = None) -> ReturnDist:
        """features [B, F], taus [B, N] (required) -> ReturnDist with values [B, A, N]."""
        if taus is None:
            raise ValueError("ImplicitQuantileHead needs taus [B, N]; the agent draws num_taus(role) of them")
        values = self.quantile_function(features, taus)
        probs = values.new_full((1, 1, taus.shape[-1]), 1.0 / taus.shape[-1])
        return ReturnDist(values=values, probs=probs, taus=taus)


class FractionProposal(nn.Module):
    """FQF's fraction proposal network P (Yang et al. 2019, Sec. 3.1): features [B, F] ->
    fractions 0 = τ_0 < τ_1 < … < τ_N = 1 [B, N + 1] and log(τ_{i+1} − τ_i) [B, N].

    One Linear layer, softmax, cumulative sum. Weight and bias start at zero, so every state starts
    with exactly uniform fractions τ_i = i/N (the paper initialises with Xavier gain 0.01, which is
    near-uniform; zero makes it exact). Callers pass DETACHED features: the fraction loss must not
    train the torso.
    """

    def __init__(self, in_features: int, num_fractions: int) -> None:
        super().__init__()
        if num_fractions < 2:
            raise ValueError(f"FQF needs num_fractions >= 2; got {num_fractions}")
        self.linear = nn.Linear(in_features, num_fractions)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        """features [B, F] -> (taus [B, N + 1], log_probs [B, N])."""
        log_probs = F.log_softmax(self.linear(features), dim=-1)
        inner = log_probs.exp().cumsum(-1)[:, :-1].clamp(max=1.0)  # τ_1 … τ_{N−1}
        zeros = inner.new_zeros(inner.shape[0], 1)
        return torch.cat([zeros, inner, zeros + 1.0], dim=-1), log_probs


class FractionQuantileHead(QuantileRegression, Head):
    """FQF's head (Yang et al. 2019): proposed fractions plus an IQN-style quantile function.

    forward: P proposes τ_0 … τ_N on detached features; the quantile function is evaluated at the
    hat fractions τ̂_i = (τ_i + τ_{i+1})/2 (detached: the quantile loss does not move the
    fractions), and ReturnDist.probs = τ_{i+1} − τ_i, so q_values() = Σ_i (τ_{i+1} − τ_i) F⁻¹(τ̂_i).
    It returns a `FractionReturnDist`: the fractions with their gradient into P, for the fraction loss.
    The target net proposes its own fractions on s' (its copy of P), and its N values at those τ̂'
    are the target samples, each weighted by its interval's mass τ'_{j+1} − τ'_j, so the target is
    exactly the target net's distribution shifted and scaled (`QuantileRegression.target`). The authors' code
    (microsoft/FQF) weights them equally, which biases the target towards wherever the fractions
    crowd: harmless at the paper's fraction lr (2.5e-9), where they stay near uniform, but with
    faster fraction learning (CartPole) the bias feeds back through the fractions and learning collapses.

    loss: {"main": quantile Huber between F⁻¹(s, a; τ̂) and the targets (fractions as constants),
    "fraction": the W1 fraction loss of Proposition 1 − entropy_coef · H(τ_{i+1} − τ_i)}, where the
    fraction loss takes the proposed τ with their gradient into P and reads F⁻¹ at τ_1 … τ_{N−1}
    on the detached features without gradient.
    param_groups: {"main": quantile function, "fraction": P}; the agent gives "fraction" its own
    optimizer (RMSProp, lr 2.5e-9 in the paper).
    """

    predicts_return_atoms = True

    def __init__(
        self, in_features: int, num_actions: int, hidden: int = 512, dueling: bool = False, num_fractions: int = 32,
        num_cosines: int = 64, kappa: float = 1.0, entropy_coef: float = 0.0,
    ) -> None:
        super().__init__()
        self.proposal = FractionProposal(in_features, num_fractions)
        self.quantile_function = QuantileFunction(in_features, num_actions, hidden, dueling, num_cosines)
        self.kappa = kappa
        self.entropy_coef = entropy_coef

    def forward(self, features: Tensor, taus: Tensor | None = None) -> FractionReturnDist:
        """features [B, F] -> values [B, A, N] at τ̂, probs [B, 1, N], fractions [B, N + 1]; `taus` is ignored."""
        detached = features.detach()
        fractions, log_probs = self.proposal(detached)
        with torch.no_grad():
            hat_taus = (fractions[:, :-1] + fractions[:, 1:]) / 2  # [B, N]
            probs = (fractions[:, 1:] - fractions[:, :-1])[:, None, :]  # [B, 1, N]
        values = self.quantile_function(features, hat_taus)
        return FractionReturnDist(values=values, probs=probs, taus=hat_taus, fractions=fractions,
                                  fraction_log_probs=log_probs, features=detached)

    def loss(self, dist: FractionReturnDist, action: Tensor, target: TargetDist) -> dict[str, Tensor]:
        """{"main": quantile Huber [B], "fraction": W1 fraction loss − entropy_coef · entropy [B]}."""
        main = quantile_regression_loss(dist, action, target, self.kappa)
        interior_taus = dist.fractions[:, 1:-1]  # [B, N − 1], with gradient into P
        with torch.no_grad():
            interior_values = gather_action(self.quantile_function(dist.features, interior_taus), action)
            hat_values = gather_action(dist.values, action)
        fraction = fraction_loss(interior_values, hat_values, interior_taus)
        log_probs = dist.fraction_log_probs
        entropy = -(log_probs.exp() * log_probs).sum(-1)
        return {"main": main, "fraction": fraction - self.entropy_coef * entropy}

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """{"main": the quantile function's parameters, "fraction": the proposal network's}."""
        return {"main": list(self.quantile_function.parameters()), "fraction": list(self.proposal.parameters())}


# ----------------------------------------------------------------------------------------------------
# ER-DQN: expectile regression with imputed target samples (Rowland et al. 2019)
# ----------------------------------------------------------------------------------------------------


class ExpectileHead(MidpointStatisticsHead):
    """ER-DQN's head (Rowland et al. 2019, "Statistics and samples in distributional RL"): N expectiles
    per action at the asymmetries τ_i = (2i + 1)/(2N), QR-DQN's fractions.

    Expectiles are statistics, not atoms: a target built by shifting the target net's expectiles
    (r + γ e_j, as QR-DQN shifts its quantiles) collapses the distribution's spread, because the
    expectiles of a distribution are not samples from it. EDRL therefore first IMPUTES samples z_j whose
    expectiles are e_j(s', a*) (`impute_expectile_samples`), then regresses on r + d·z_j with the
    expectile loss (`expectile_loss`).

    forward -> ReturnDist(values = expectiles [B, A, N], probs = one-hot at τ = 0.5, taus = τ [B, N]):
    the 0.5-expectile is the mean, so q_values() is the exact Q(s, a), which is why N must be odd.
    `values` are statistics (expectiles), not atoms; `neuro.dopamine.decoding` turns them into a distribution.
    """

    graph_capturable = False  # the imputation's batched Cholesky solve (MAGMA on CUDA) refuses capture

    def __init__(
        self, in_features: int, num_actions: int, hidden: int = 512, dueling: bool = False,
        num_expectiles: int = 31, imputation_iterations: int = 10,
    ) -> None:
        if num_expectiles < 1 or num_expectiles % 2 == 0:
            raise ValueError(
                f"num_expectiles must be odd and >= 1, so that τ = 0.5 (the mean, used for acting) is one of "
                f"the (2i + 1)/2N; got {num_expectiles}"
            )
        mean_probs = torch.zeros(1, 1, num_expectiles)
        mean_probs[..., num_expectiles // 2] = 1.0  # τ_{(N-1)/2} = 0.5
        super().__init__(in_features, num_actions, hidden, dueling, num_expectiles, mean_probs)
        self.imputation_iterations = imputation_iterations

    def target(self, next_dist: ReturnDist, next_action: Tensor, reward: Tensor, discount: Tensor) -> TargetDist:
        """r + d·z_j with z imputed from the target expectiles e(s', a*) -> [B, N] equally weighted samples."""
        samples = impute_expectile_samples(
            gather_action(next_dist.values, next_action), self.taus, num_iterations=self.imputation_iterations
        )
        return TargetDist(reward[:, None] + discount[:, None] * samples)

    def loss(self, dist: ReturnDist, action: Tensor, target: TargetDist) -> dict[str, Tensor]:
        """{"main": expectile regression loss} per sample [B]."""
        return {"main": expectile_loss(gather_action(dist.values, action), target.values, dist.taus)}
