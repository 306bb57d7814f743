"""Shapes, invariants and gradient routing of the C51, QR-DQN, IQN and FQF heads under the `Head` contract."""

from __future__ import annotations

import math

import pytest
import torch

from agents import build_agent
from agents.config import (
    AgentConfig,
    CategoricalHeadConfig,
    ExpectedValueHeadConfig,
    ExpectileHeadConfig,
    FractionQuantileHeadConfig,
    HeadConfig,
    ImplicitQuantileHeadConfig,
    QuantileHeadConfig,
)
from agents.heads import (
    TAU_ROLES,
    CategoricalHead,
    CosineEmbedding,
    FractionQuantileHead,
    FractionReturnDist,
    Head,
    ImplicitQuantileHead,
    QuantileHead,
    ReturnDist,
    TargetDist,
)
from agents.losses import categorical_projection
from replay.buffer import Batch

B, F, A = 5, 12, 3


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
def test_head_contract_shapes(name: str, dueling: bool) -> None:
    head = _heads(dueling)[name]
    features = torch.randn(B, F)
    dist = head(features, _taus(head, "online"))
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
        next_dist = head(torch.randn(B, F), _taus(head, "target"))
        target = head.target(next_dist, action, torch.randn(B), torch.full((B,), 0.9))
    assert isinstance(target, TargetDist) and target.values.dim() == 2 and target.values.shape[0] == B
    if target.weights is not None:
        assert target.weights.shape == target.values.shape
        torch.testing.assert_close(target.weights.sum(-1), torch.ones(B))
    losses = head.loss(dist, action, target)
    assert set(losses) == set(head.param_groups())
    for value in losses.values():
        assert value.shape == (B,) and torch.isfinite(value).all()


def _taus(head: Head, role: str) -> torch.Tensor | None:
    """What the agent passes: [B, num_taus(role)] fractions τ ~ U(0, 1), or None."""
    num_taus = head.num_taus(role)
    return torch.rand(B, num_taus) if num_taus else None


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
    torch.testing.assert_close(target.weights, expected)
    torch.testing.assert_close(target.values, head.support.expand(B, -1))
    loss = head.loss(dist, action, target)["main"]
    log_p = dist.logits[torch.arange(B), action].log_softmax(-1)
    torch.testing.assert_close(loss, -(expected * log_p).sum(-1))


def test_quantile_head_midpoints_and_target() -> None:
    head = _heads(dueling=False)["qrdqn"]
    dist = head(torch.randn(B, F))
    torch.testing.assert_close(dist.taus[0], (2 * torch.arange(8.0) + 1) / 16)
    action = torch.tensor([2, 1, 0, 0, 1])
    reward, discount = torch.randn(B), torch.rand(B)
    target = head.target(dist, action, reward, discount)
    shifted = reward[:, None] + discount[:, None] * dist.values[torch.arange(B), action]
    torch.testing.assert_close(target.values, shifted)
    torch.testing.assert_close(target.weights, torch.full((B, 8), 1 / 8))


def test_cosine_embedding_formula() -> None:
    """φ(τ) = ReLU(Σ_i cos(π i τ) w_ij + b_j), i = 0 … n−1 (Dabney et al. 2018b, Eq. 4)."""
    embedding = CosineEmbedding(64, 7)
    taus = torch.rand(3, 5)
    cosines = torch.cos(math.pi * taus[..., None] * torch.arange(64.0))
    assert torch.equal(cosines[..., 0], torch.ones(3, 5))  # i = 0 is a constant feature
    expected = torch.relu(cosines @ embedding.linear.weight.T + embedding.linear.bias)
    torch.testing.assert_close(embedding(taus), expected)


def test_iqn_takes_its_number_of_taus_per_role() -> None:
    head = ImplicitQuantileHead(F, A, num_online_taus=64, num_target_taus=48, num_act_taus=32)
    assert [head.num_taus(role) for role in TAU_ROLES] == [64, 48, 32]
    with pytest.raises(ValueError, match="valid: online, target, act"):
        head.num_taus("behaviour")
    with pytest.raises(ValueError, match="taus"):
        head(torch.randn(2, F))
    assert all(h.num_taus("online") == 0 for name, h in _heads(dueling=False).items() if name != "iqn")


def test_fqf_fractions_start_uniform() -> None:
    head = _heads(dueling=False)["fqf"]
    features = torch.randn(B, F) * 10
    fractions, log_probs = head.proposal(features)
    torch.testing.assert_close(fractions, torch.linspace(0, 1, 9).expand(B, -1), atol=1e-6, rtol=0)
    dist = head(features)
    torch.testing.assert_close(dist.taus, ((torch.arange(8.0) + 0.5) / 8).expand(B, -1))
    torch.testing.assert_close(dist.probs, torch.full((B, 1, 8), 1 / 8))


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
    assert isinstance(dist, FractionReturnDist) and dist.fractions.requires_grad
    assert not dist.features.requires_grad and not dist.taus.requires_grad and not dist.probs.requires_grad
    target = TargetDist(torch.randn(B, 8), torch.softmax(torch.randn(B, 8), dim=-1))
    losses = head.loss(dist, action, target)

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
    losses = head.loss(dist, action, TargetDist(torch.randn(B, 8)))
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
        target = TargetDist(dist.values[:, 0].detach())
        head.loss(dist, torch.zeros(B, dtype=torch.long), target)["fraction"].mean().backward()
        optimizer.step()
    assert entropy() > before + 0.1


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
    fractions, log_probs = agent.head.proposal(agent.online.torso(obs))
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


def test_cosine_embedding_index_starts_where_asked():
    """cos(π i τ) for i = 0..n−1 (the IQN paper) or i = 1..n (Dopamine, `first_cosine=1`)."""
    paper, dopamine = CosineEmbedding(4, 3), CosineEmbedding(4, 3, first_cosine=1)
    assert torch.allclose(paper.frequencies, math.pi * torch.tensor([0.0, 1.0, 2.0, 3.0]))
    assert torch.allclose(dopamine.frequencies, math.pi * torch.tensor([1.0, 2.0, 3.0, 4.0]))
    with pytest.raises(ValueError, match="agent.head.first_cosine must be 0 .the IQN paper. or 1 .Dopamine., got 2"):
        ImplicitQuantileHeadConfig(first_cosine=2).validate()


def test_return_sd_by_hand() -> None:
    # two atoms −1 and 3 at ½ each: Q = 1, SD = 2; four equal-mass quantiles 1..4: Q = 2.5, SD = √1.25
    two = ReturnDist(values=torch.tensor([[[-1.0, 3.0]]]), probs=torch.tensor([[[0.5, 0.5]]]))
    four = ReturnDist(values=torch.tensor([[[1.0, 2.0, 3.0, 4.0]]]), probs=torch.full((1, 1, 4), 0.25))
    torch.testing.assert_close(two.return_sd(), torch.tensor([[2.0]]))
    torch.testing.assert_close(four.return_sd(), torch.tensor([[math.sqrt(1.25)]]))


@pytest.mark.parametrize(("head_config", "logged"), [
    (ExpectedValueHeadConfig(hidden=16), False), (CategoricalHeadConfig(hidden=16), True),
    (QuantileHeadConfig(hidden=16), True), (ImplicitQuantileHeadConfig(hidden=16, num_cosines=8), True),
    (FractionQuantileHeadConfig(hidden=16, num_cosines=8), True), (ExpectileHeadConfig(hidden=16), False),
])
def test_update_logs_the_return_sd_of_heads_with_atoms(head_config: HeadConfig, logged: bool) -> None:
    built = build_agent(AgentConfig(torso="mlp", mlp_hidden=[16], head=head_config), (1, 4), A, "cpu", seed=0)
    assert built.head.predicts_return_atoms is logged
    obs = torch.randn(B, 1, 4)
    action = torch.randint(A, (B,))
    batch = Batch(obs=obs, action=action, reward=torch.randn(B), discount=torch.full((B,), 0.9), next_obs=obs,
                  weight=torch.ones(B), index=torch.arange(B))
    if not logged:
        assert "q_sd" not in built.update(batch)
        return
    with torch.no_grad():
        dist = built.online(obs, built._taus(B, "online"))
    sd = dist.return_sd()[torch.arange(B), action].mean()
    assert sd > 0
    logged_sd = built.update(batch)["q_sd"]
    if isinstance(head_config, ImplicitQuantileHeadConfig):  # its update draws fractions of its own
        assert logged_sd == pytest.approx(sd.item(), rel=0.3)
    else:
        torch.testing.assert_close(logged_sd, sd)
