"""Shapes, invariants and gradient routing of the C51, QR-DQN, IQN and FQF heads."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from agents import build_agent
from agents.config import AgentConfig, FractionQuantileHeadConfig, ImplicitQuantileHeadConfig
from agents.heads import (
    CategoricalHead,
    CosineEmbedding,
    FractionProposal,
    FractionQuantileHead,
    Head,
    ImplicitQuantileHead,
    QuantileHead,
    ReturnDist,
    WeightedSamples,
)
from agents.losses import categorical_projection, fraction_loss

B, F, A = 5, 12, 3


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks: one intra-op thread is ~20x faster than two on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _heads(dueling: bool) -> dict[str, Head]:
    torch.manual_seed(0)
    return {
        "c51": CategoricalHead(F, A, hidden=16, dueling=dueling, num_atoms=11, v_min=-5.0, v_max=5.0),
        "qrdqn": QuantileHead(F, A, hidden=16, dueling=dueling, num_quantiles=8),
        "iqn": ImplicitQuantileHead(F, A, hidden=16, dueling=dueling, num_cosines=8),
        "fqf": FractionQuantileHead(F, A, hidden=16, dueling=dueling, num_fractions=8, num_cosines=8),
    }


@pytest.mark.parametrize("dueling", [False, True])
@pytest.mark.parametrize("name", ["c51", "qrdqn", "iqn", "fqf"])
def test_head_protocol_shapes(name: str, dueling: bool) -> None:
    head = _heads(dueling)[name]
    features = torch.randn(B, F)
    taus = head.sample_taus(B, "online", "cpu")
    dist = head(features, taus)
    assert isinstance(dist, ReturnDist)
    num_atoms = dist.values.shape[-1]
    assert dist.values.shape == (B, A, num_atoms)
    probs = dist.probs.expand_as(dist.values)
    torch.testing.assert_close(probs.sum(-1), torch.ones(B, A))
    torch.testing.assert_close(dist.q_values(), (dist.values * probs).sum(-1))
    if dist.taus is not None:
        assert dist.taus.shape == (B, num_atoms)

    action = torch.randint(A, (B,))
    with torch.no_grad():
        next_dist = head(torch.randn(B, F), head.sample_taus(B, "target", "cpu"))
        target = head.target(next_dist, action, torch.randn(B), torch.full((B,), 0.9))
    losses = head.loss(dist, action, target, features)
    assert set(losses) == set(head.param_groups())
    for value in losses.values():
        assert value.shape == (B,) and torch.isfinite(value).all()


def test_param_groups_partition_parameters() -> None:
    for head in _heads(dueling=True).values():
        groups = head.param_groups()
        ids = [id(p) for params in groups.values() for p in params]
        assert len(ids) == len(set(ids)) and set(ids) == {id(p) for p in head.parameters()}
    fqf = _heads(dueling=False)["fqf"]
    assert {id(p) for p in fqf.param_groups()["fraction"]} == {id(p) for p in fqf.proposal.parameters()}


def test_categorical_head_support_target_and_loss() -> None:
    head = _heads(dueling=False)["c51"]
    torch.testing.assert_close(head.support, torch.linspace(-5.0, 5.0, 11))
    dist = head(torch.randn(B, F))
    torch.testing.assert_close(dist.probs, dist.logits.softmax(-1))
    action = torch.tensor([0, 1, 2, 1, 0])
    reward, discount = torch.randn(B), torch.rand(B)
    target = head.target(dist, action, reward, discount)
    expected = categorical_projection(dist.probs[torch.arange(B), action], reward, discount, head.support)
    torch.testing.assert_close(target, expected)
    loss = head.loss(dist, action, target, torch.randn(B, F))["main"]
    log_p = dist.logits[torch.arange(B), action].log_softmax(-1)
    torch.testing.assert_close(loss, -(target * log_p).sum(-1))


def test_quantile_head_midpoints_and_target() -> None:
    head = _heads(dueling=False)["qrdqn"]
    dist = head(torch.randn(B, F))
    torch.testing.assert_close(dist.taus[0], (2 * torch.arange(8.0) + 1) / 16)
    action = torch.tensor([2, 1, 0, 0, 1])
    reward, discount = torch.randn(B), torch.rand(B)
    target = head.target(dist, action, reward, discount)
    torch.testing.assert_close(target, reward[:, None] + discount[:, None] * dist.values[torch.arange(B), action])


def test_cosine_embedding_formula() -> None:
    """φ(τ) = ReLU(Σ_i cos(π i τ) w_ij + b_j), i = 0 … n−1 (Dabney et al. 2018b, Eq. 4)."""
    embedding = CosineEmbedding(64, 7)
    taus = torch.rand(3, 5)
    cosines = torch.cos(math.pi * taus[..., None] * torch.arange(64.0))
    assert torch.equal(cosines[..., 0], torch.ones(3, 5))  # i = 0 is a constant feature
    expected = torch.relu(cosines @ embedding.linear.weight.T + embedding.linear.bias)
    torch.testing.assert_close(embedding(taus), expected)


def test_iqn_taus_per_role_and_seeded_stream() -> None:
    head = ImplicitQuantileHead(F, A, num_online_taus=64, num_target_taus=48, num_act_taus=32, seed=3)
    shapes = {role: head.sample_taus(4, role, "cpu").shape for role in ("online", "target", "act")}
    assert shapes == {"online": (4, 64), "target": (4, 48), "act": (4, 32)}
    taus = head.sample_taus(1000, "online", "cpu")
    assert taus.min() >= 0 and taus.max() < 1 and abs(float(taus.mean()) - 0.5) < 0.01
    with pytest.raises(ValueError, match="valid"):
        head.sample_taus(4, "behaviour", "cpu")
    with pytest.raises(ValueError, match="taus"):
        head(torch.randn(2, F))
    same, other = ImplicitQuantileHead(F, A, seed=3), ImplicitQuantileHead(F, A, seed=4)
    first = same.sample_taus(2, "online", "cpu")
    assert torch.equal(first, ImplicitQuantileHead(F, A, seed=3).sample_taus(2, "online", "cpu"))
    assert not torch.equal(first, other.sample_taus(2, "online", "cpu"))


def test_iqn_tau_stream_does_not_restart_when_the_device_is_spelled_differently() -> None:
    head, reference = ImplicitQuantileHead(F, A, seed=7), ImplicitQuantileHead(F, A, seed=7)
    draws = [head.sample_taus(2, "act", device) for device in ("cpu", torch.device("cpu"), "cpu")]
    expected = [reference.sample_taus(2, "act", "cpu") for _ in range(3)]
    for got, want in zip(draws, expected, strict=True):
        assert torch.equal(got, want)


def test_iqn_tau_stream_survives_state_dict_round_trip() -> None:
    head = ImplicitQuantileHead(F, A, seed=5)
    head.sample_taus(3, "online", "cpu")
    state = head.state_dict()
    expected = head.sample_taus(3, "online", "cpu")
    restored = ImplicitQuantileHead(F, A, seed=99)
    restored.load_state_dict(state)
    assert torch.equal(restored.sample_taus(3, "online", "cpu"), expected)


def test_iqn_build_agent_seeds_the_tau_stream() -> None:
    cfg = AgentConfig(torso="mlp", mlp_hidden=[8], head=ImplicitQuantileHeadConfig(hidden=8))
    taus = [build_agent(cfg, (1, 4), 2, "cpu", seed=s).head.sample_taus(2, "act", "cpu") for s in (0, 0, 1)]
    assert torch.equal(taus[0], taus[1]) and not torch.equal(taus[0], taus[2])


def test_fqf_fractions_start_uniform() -> None:
    head = _heads(dueling=False)["fqf"]
    features = torch.randn(B, F) * 10
    fractions, log_probs = head.proposal(features)
    torch.testing.assert_close(fractions, torch.linspace(0, 1, 9).expand(B, -1), atol=1e-6, rtol=0)
    dist = head(features)
    torch.testing.assert_close(dist.taus, ((torch.arange(8.0) + 0.5) / 8).expand(B, -1))
    torch.testing.assert_close(dist.probs, torch.full((B, 1, 8), 1 / 8))


def _equal_weights(values: torch.Tensor) -> WeightedSamples:
    return WeightedSamples(values, torch.full_like(values, 1.0 / values.shape[-1]))


def test_fqf_target_weights_samples_by_their_interval_mass() -> None:
    """FQF's target samples r + d·F⁻¹(τ̂'_j) carry the target net's masses τ'_{j+1} − τ'_j."""
    head = _heads(dueling=False)["fqf"]
    with torch.no_grad():
        head.proposal.linear.weight.normal_()
    next_dist = head(torch.randn(B, F))
    action = torch.randint(A, (B,))
    reward, discount = torch.randn(B), torch.rand(B)
    target = head.target(next_dist, action, reward, discount)
    rows = torch.arange(B)
    torch.testing.assert_close(target.values, reward[:, None] + discount[:, None] * next_dist.values[rows, action])
    torch.testing.assert_close(target.weights, next_dist.probs[:, 0])
    torch.testing.assert_close(target.weights.sum(-1), torch.ones(B))
    assert not torch.allclose(target.weights, torch.full_like(target.weights, 1 / 8))


def test_fqf_gradients_stay_in_their_groups() -> None:
    """The quantile loss never moves the fractions; the fraction loss never moves torso or quantiles."""
    head = _heads(dueling=False)["fqf"]
    with torch.no_grad():  # non-uniform fractions, so that every gradient is non-trivial
        head.proposal.linear.weight.normal_()
    features = torch.randn(B, F, requires_grad=True)
    action = torch.randint(A, (B,))
    dist = head(features)
    target = WeightedSamples(torch.randn(B, 8), torch.softmax(torch.randn(B, 8), dim=-1))
    losses = head.loss(dist, action, target, features)

    losses["main"].sum().backward(retain_graph=True)
    assert all(p.grad is None for p in head.proposal.parameters())
    assert features.grad is not None and all(p.grad is not None for p in head.quantile_function.parameters())

    head.zero_grad(set_to_none=True)
    features.grad = None
    losses["fraction"].sum().backward()
    assert features.grad is None
    assert all(p.grad is None for p in head.quantile_function.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in head.proposal.parameters())


def test_fqf_fraction_gradient_is_prop1_through_the_head() -> None:
    """The head's fraction loss differentiates to ∂W1/∂τ_i of its own quantile function (Prop. 1)."""
    head = _heads(dueling=False)["fqf"]
    with torch.no_grad():
        head.proposal.linear.weight.normal_()
    features = torch.randn(B, F)
    action = torch.randint(A, (B,))
    dist = head(features)
    losses = head.loss(dist, action, _equal_weights(torch.randn(B, 8)), features)
    fractions, _ = head.proposal(features)
    interior = fractions[:, 1:-1]
    (grad,) = torch.autograd.grad(losses["fraction"].sum(), head.proposal.linear.weight)
    with torch.no_grad():
        f_interior = head.quantile_function(features, interior)[torch.arange(B), action]
        f_hat = dist.values[torch.arange(B), action]
    w1_grad = 2 * f_interior - f_hat[:, 1:] - f_hat[:, :-1]
    (expected,) = torch.autograd.grad((w1_grad * interior).sum(), head.proposal.linear.weight)
    torch.testing.assert_close(grad, expected)


def test_fqf_entropy_term_raises_entropy() -> None:
    head = FractionQuantileHead(F, A, hidden=16, num_fractions=8, num_cosines=8, entropy_coef=1.0)
    with torch.no_grad():
        head.proposal.linear.weight.normal_()
    features = torch.randn(B, F)
    optimizer = torch.optim.SGD(head.proposal.parameters(), lr=0.5)

    @torch.no_grad()
    def entropy() -> float:
        _, log_probs = head.proposal(features)
        return float(-(log_probs.exp() * log_probs).sum(-1).mean())

    before = entropy()
    for _ in range(50):
        dist = head(features)
        optimizer.zero_grad()
        # a target equal to the current values: the W1 part is tiny next to the entropy term
        head.loss(dist, torch.zeros(B, dtype=torch.long), _equal_weights(dist.values[:, 0].detach()), features)[
            "fraction"
        ].mean().backward()
        optimizer.step()
    assert entropy() > before + 0.1


def _w1_to_staircase(taus: np.ndarray, quantile_fn, grid: int = 4001) -> float:
    """∫ |F⁻¹(ω) − F⁻¹(τ̂_i)| over each [τ_i, τ_{i+1}] (the W1 error FQF minimises), trapezoid rule."""
    total = 0.0
    for lo, hi in zip(taus[:-1], taus[1:], strict=True):
        omega = np.linspace(lo, hi, grid)
        gap = np.abs(quantile_fn(omega) - quantile_fn((lo + hi) / 2))
        total += float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(omega)))
    return total


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
    learned_w1 = _w1_to_staircase(fractions.numpy(), quantile_fn)
    assert learned_w1 < 0.85 * _w1_to_staircase(uniform, quantile_fn)


def test_fqf_fractions_sorted_and_entropy_finite_while_training() -> None:
    """FQF through the real Agent with a large fraction lr: fractions stay sorted in (0, 1)."""
    cfg = AgentConfig(
        torso="mlp",
        mlp_hidden=[16],
        head=FractionQuantileHeadConfig(hidden=16, num_fractions=8, num_cosines=8, fraction_lr=1e-2),
    )
    agent = build_agent(cfg, (1, 4), 2, "cpu", seed=0)
    gen = torch.Generator().manual_seed(0)
    obs = torch.randn(32, 1, 4, generator=gen)
    for _ in range(200):
        batch = _RandomBatch(obs, gen)
        metrics = agent.update(batch)
        assert torch.isfinite(metrics["fraction_loss"]) and torch.isfinite(metrics["loss"])
    fractions, log_probs = agent.head.proposal(agent.online.features(obs))
    entropy = -(log_probs.exp() * log_probs).sum(-1)
    assert torch.isfinite(entropy).all()
    assert (fractions.diff(dim=-1) >= 0).all()
    assert (fractions[:, 1:-1] > 0).all() and (fractions[:, 1:-1] < 1).all()
    uniform = torch.linspace(0, 1, 9)
    assert (fractions - uniform).abs().max() > 0.01  # the proposal did train


class _RandomBatch:
    def __init__(self, obs: torch.Tensor, gen: torch.Generator) -> None:
        n = obs.shape[0]
        self.obs = obs
        self.next_obs = obs.roll(1, 0)
        self.action = torch.randint(2, (n,), generator=gen)
        self.reward = torch.randn(n, generator=gen) * 3 + self.action
        self.discount = torch.full((n,), 0.9)
        self.weight = torch.ones(n)
