"""Behaviour of agents/agent.py: the DQN update, double-Q, weights, acting, target sync, state."""

from __future__ import annotations

import copy
import io
import math

import pytest
import torch
from torch import Tensor, nn

from agents import build_agent
from agents.agent import Agent, OptimizerSpec, QNetwork
from agents.config import AgentConfig, FractionQuantileHeadConfig, ImplicitQuantileHeadConfig
from agents.heads import ExpectedValueHead, Head, ReturnDist, TargetDist
from agents.optim_stats import eps_dominated_fraction
from agents.torsos import MLP, NatureCNN
from replay.buffer import Batch

OBS_DIM = 4


def make_batch(
    obs: Tensor,
    action: Tensor,
    reward: Tensor,
    discount: Tensor,
    next_obs: Tensor | None = None,
    weight: Tensor | None = None,
) -> Batch:
    n = obs.shape[0]
    return Batch(
        obs=obs,
        action=action,
        reward=reward,
        discount=discount,
        next_obs=obs.clone() if next_obs is None else next_obs,
        weight=torch.ones(n) if weight is None else weight,
        index=torch.arange(n),
    )


def mlp_agent(num_actions: int = 3, *, double_q: bool = False, lr: float = 1e-3, seed: int = 0) -> Agent:
    torch.manual_seed(seed)
    net = QNetwork(MLP(OBS_DIM, [32]), ExpectedValueHead(32, num_actions, hidden=32))
    spec = OptimizerSpec("adam", lr=lr, eps=1e-8, max_grad_norm=10.0)
    return Agent(net, optimizers={"main": spec}, double_q=double_q, seed=seed)


def cnn_agent(num_actions: int = 4, *, lr: float = 2.5e-4, seed: int = 0) -> Agent:
    torch.manual_seed(seed)
    net = QNetwork(NatureCNN(channels_last=True), ExpectedValueHead(3136, num_actions, hidden=512))
    spec = OptimizerSpec("adam", lr=lr, eps=3.125e-4, max_grad_norm=10.0)
    return Agent(net, optimizers={"main": spec}, seed=seed)


def selected_q(agent: Agent, obs: Tensor, action: Tensor) -> Tensor:
    with torch.no_grad():
        return agent.online(obs).q_values()[torch.arange(obs.shape[0]), action]


@pytest.mark.parametrize("torso", ["mlp", "cnn"])
def test_update_moves_q_toward_fixed_target(torso: str) -> None:
    g = torch.Generator().manual_seed(1)
    if torso == "cnn":
        agent, n, num_actions = cnn_agent(), 8, 4
        obs = torch.randint(0, 256, (n, 4, 84, 84), dtype=torch.uint8, generator=g)
    else:
        agent, n, num_actions = mlp_agent(lr=1e-2), 8, 3
        obs = torch.randn(n, 1, OBS_DIM, generator=g)
    action = torch.arange(n) % num_actions
    # One target per action: random frames look alike to a fresh CNN, so rows sharing an action but
    # not a target would pull Q(., a) in opposite directions.
    reward = torch.tensor([2.0, -1.5, 1.0, -0.5])[action]
    batch = make_batch(obs, action, reward, discount=torch.zeros(n))  # target = reward exactly
    before = selected_q(agent, obs, action)
    first = agent.update(batch)
    for _ in range(10):
        last = agent.update(batch)
    after = selected_q(agent, obs, action)
    assert (after - reward).abs().lt((before - reward).abs()).all()
    assert last["loss"] < 0.5 * first["loss"]
    assert agent.num_updates == 11
    for key in ("loss", "q_mean", "grad_norm"):
        assert last[key].shape == () and not last[key].requires_grad
    assert last["priorities"].shape == (n,) and not last["priorities"].requires_grad


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_single_update_moves_prediction_toward_target(sign: float) -> None:
    agent = mlp_agent()
    obs, action = torch.randn(1, 1, OBS_DIM), torch.tensor([1])
    q0 = selected_q(agent, obs, action)
    agent.update(make_batch(obs, action, reward=q0 + sign * 5.0, discount=torch.zeros(1)))
    assert sign * (selected_q(agent, obs, action) - q0).item() > 0


def set_constant_q(agent_net: QNetwork, q: list[float]) -> None:
    """Make the network output Q = q for every observation (zero last-layer weight, bias = q)."""
    last = agent_net.head.net.action_stream[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor(q))


@pytest.mark.parametrize(("double_q", "expected_target"), [(True, 0.5 * 2.0), (False, 0.5 * 5.0)])
def test_double_q_selects_next_action_with_online_net(double_q: bool, expected_target: float) -> None:
    agent = mlp_agent(double_q=double_q)
    set_constant_q(agent.online, [0.0, 1.0, 0.0])  # online argmax = 1
    set_constant_q(agent.target, [5.0, 2.0, 3.0])  # target argmax = 0
    obs = torch.randn(2, 1, OBS_DIM)
    batch = make_batch(obs, torch.tensor([0, 0]), reward=torch.zeros(2), discount=torch.full((2,), 0.5))
    metrics = agent.update(batch)
    # Q_online(s, 0) = 0, so the per-sample loss is huber(target − 0) with κ = 1.
    t = expected_target
    expected_loss = 0.5 * t**2 if t <= 1.0 else t - 0.5
    assert torch.allclose(metrics["priorities"], torch.full((2,), expected_loss))
    assert metrics["loss"].item() == pytest.approx(expected_loss)
    assert metrics["q_mean"].item() == pytest.approx(0.0)


def test_importance_weights_multiply_per_sample_loss() -> None:
    obs = torch.randn(2, 1, OBS_DIM)
    action, reward = torch.tensor([0, 2]), torch.tensor([3.0, -4.0])
    both = mlp_agent()
    first_only = mlp_agent()
    # weight 0 on row 1, weight 2 on row 0: mean over 2 rows = row 0's loss, as a batch of row 0 alone.
    m_both = both.update(make_batch(obs, action, reward, torch.zeros(2), weight=torch.tensor([2.0, 0.0])))
    m_one = first_only.update(make_batch(obs[:1], action[:1], reward[:1], torch.zeros(1)))
    assert torch.allclose(m_both["loss"], m_one["loss"])
    for p_both, p_one in zip(both.online.parameters(), first_only.online.parameters(), strict=True):
        assert torch.allclose(p_both.grad, p_one.grad, atol=1e-6)
        assert torch.allclose(p_both, p_one, atol=1e-6)
    assert m_both["priorities"][1] > 0  # priorities are unweighted


def test_sync_target_copies_weights_and_target_is_frozen() -> None:
    agent = mlp_agent()
    assert not agent.target.training
    assert not any(p.requires_grad for p in agent.target.parameters())
    obs = torch.randn(4, 1, OBS_DIM)
    agent.update(make_batch(obs, torch.zeros(4, dtype=torch.long), torch.ones(4), torch.zeros(4)))
    online, target = agent.online.state_dict(), agent.target.state_dict()
    assert any(not torch.equal(online[k], target[k]) for k in online)
    agent.sync_target()
    target = agent.target.state_dict()
    assert all(torch.equal(online[k], target[k]) for k in online)
    assert not any(p.requires_grad for p in agent.target.parameters())


def test_act_greedy_and_uniform() -> None:
    agent = mlp_agent(num_actions=3)
    obs = torch.randn(3000, 1, OBS_DIM)
    greedy = agent.act(obs, epsilon=0.0)
    assert greedy.dtype == torch.int64 and greedy.shape == (3000,)
    with torch.no_grad():
        assert torch.equal(greedy, agent.online(obs).q_values().argmax(-1))
    assert torch.equal(greedy, agent.predict(obs).q_values().argmax(-1))
    random = agent.act(obs, epsilon=1.0)
    counts = torch.bincount(random, minlength=3)
    assert (counts - 1000).abs().max() < 150  # ~5.5 standard deviations
    half = agent.act(obs, epsilon=0.5)
    assert 0.6 < (half == greedy).float().mean() < 0.9  # 1 − ε + ε/A = 0.667


def test_act_cnn_uint8_and_seeded_generator() -> None:
    a, b = cnn_agent(seed=3), cnn_agent(seed=3)
    obs = torch.randint(0, 256, (5, 4, 84, 84), dtype=torch.uint8)
    assert torch.equal(a.act(obs, 0.5), b.act(obs, 0.5))
    assert a.act(obs, 0.0).shape == (5,)


def test_state_dict_round_trip_restores_outputs_optimizer_and_generator() -> None:
    agent = mlp_agent(seed=0)
    g = torch.Generator().manual_seed(0)
    obs = torch.randn(8, 1, OBS_DIM, generator=g)
    batch = make_batch(
        obs, torch.randint(0, 3, (8,), generator=g), torch.randn(8, generator=g), torch.full((8,), 0.9)
    )
    for _ in range(3):
        agent.update(batch)
    agent.act(obs, 0.5)
    buffer = io.BytesIO()
    torch.save(agent.state_dict(), buffer)
    buffer.seek(0)
    restored = mlp_agent(seed=7)
    restored.load_state_dict(torch.load(buffer))
    assert restored.num_updates == 3
    with torch.no_grad():
        assert torch.equal(agent.online(obs).values, restored.online(obs).values)
        assert torch.equal(agent.target(obs).values, restored.target(obs).values)
    state, state_restored = agent.optimizers["main"].state_dict(), restored.optimizers["main"].state_dict()
    for k, v in state["state"].items():
        assert torch.equal(v["exp_avg_sq"], state_restored["state"][k]["exp_avg_sq"])
    # the same next update and the same exploration draws
    agent.update(batch)
    restored.update(batch)
    for p, q in zip(agent.online.parameters(), restored.online.parameters(), strict=True):
        assert torch.equal(p, q)
    assert torch.equal(agent.act(obs, 0.5), restored.act(obs, 0.5))


class TwoGroupHead(Head):
    """A minimal head with an extra "fraction" parameter group, like FQF's fraction proposal net."""

    def __init__(self, in_features: int, num_actions: int) -> None:
        super().__init__()
        self.main = ExpectedValueHead(in_features, num_actions, hidden=8)
        self.extra = nn.Parameter(torch.zeros(1))

    def forward(self, features: Tensor, taus: Tensor | None = None) -> ReturnDist:
        return self.main(features)

    def target(self, next_dist: ReturnDist, next_action: Tensor, reward: Tensor, discount: Tensor) -> TargetDist:
        return self.main.target(next_dist, next_action, reward, discount)

    def loss(self, dist: ReturnDist, action: Tensor, target: TargetDist) -> dict[str, Tensor]:
        extra = (self.extra - 1.0).square().expand(action.shape[0])
        return {"main": self.main.loss(dist, action, target)["main"], "fraction": extra}

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"main": list(self.main.parameters()), "fraction": [self.extra]}


def test_extra_param_group_gets_its_own_optimizer_and_metrics() -> None:
    torch.manual_seed(0)
    net = QNetwork(MLP(OBS_DIM, [16]), TwoGroupHead(16, 2))
    main = OptimizerSpec("adam", lr=1e-3, eps=1e-8)
    fraction = OptimizerSpec("rmsprop", lr=1e-2, eps=1e-5, centered=False, max_grad_norm=1.0)
    with pytest.raises(ValueError, match="must match the head's param groups"):
        Agent(copy.deepcopy(net), optimizers={"main": main})
    agent = Agent(net, optimizers={"main": main, "fraction": fraction})
    assert isinstance(agent.optimizers["fraction"], torch.optim.RMSprop)
    assert agent.optimizers["fraction"].param_groups[0]["params"] == [net.head.extra]
    obs = torch.randn(4, 1, OBS_DIM)
    metrics = agent.update(make_batch(obs, torch.zeros(4, dtype=torch.long), torch.ones(4), torch.zeros(4)))
    assert {"loss", "fraction_loss", "grad_norm", "fraction_grad_norm", "q_mean", "priorities"} <= set(
        metrics
    )
    assert metrics["fraction_loss"].item() == pytest.approx(1.0)
    assert 0.0 < net.head.extra.item() < 1.0


def _iqn_agent(seed: int = 0) -> Agent:
    cfg = AgentConfig(torso="mlp", mlp_hidden=[8], head=ImplicitQuantileHeadConfig(hidden=8, num_cosines=4))
    return build_agent(cfg, (1, OBS_DIM), 2, "cpu", seed=seed)


def test_load_state_dict_names_missing_and_unexpected_keys() -> None:
    agent = mlp_agent()
    state = agent.state_dict()
    del state["tau_sampler"], state["generator"]
    state["replay"] = {}
    with pytest.raises(ValueError, match=r"missing keys \['generator'\], unexpected keys \['replay'\]"):
        agent.load_state_dict(state)


def test_state_saved_when_the_iqn_head_owned_its_tau_generator_loads() -> None:
    """The old layout: no "tau_sampler"; the head's generator state in the networks as "head._extra_state"."""
    agent = _iqn_agent()
    agent.act(torch.randn(2, 1, OBS_DIM), epsilon=0.0)
    state = agent.state_dict()
    old_generator = state.pop("tau_sampler")["generator"]
    for net in ("online", "target"):
        state[net]["head._extra_state"] = {"device_type": "cpu", "state": old_generator}
    expected = agent._taus(4, "online")
    restored = _iqn_agent(seed=3)
    restored.load_state_dict(state)
    assert torch.equal(restored._taus(4, "online"), expected)
    for p, q in zip(agent.online.parameters(), restored.online.parameters(), strict=True):
        assert torch.equal(p, q)


class _TauDependentQuantiles(nn.Module):
    """F⁻¹(a = 0; τ) = τ − 0.5 (Q = 0, but any finite sample of τ estimates it above or below 0) and
    F⁻¹(a = 1; τ) = 0: features [B, F], taus [B, N] -> [B, 2, N]."""

    def forward(self, features: Tensor, taus: Tensor) -> Tensor:
        return torch.stack([taus - 0.5, torch.zeros_like(taus)], dim=1)


def test_iqn_picks_the_bootstrap_action_on_fresh_fractions() -> None:
    """Without double-Q, a* comes from the target net at K fresh fractions (IQN's Algorithm 1, DQN Zoo,
    Dopamine), not from the N' samples that form the target: a* then agrees with the target samples'
    own argmax only by chance (half the rows here), instead of always."""
    cfg = AgentConfig(torso="mlp", mlp_hidden=[8], head=ImplicitQuantileHeadConfig(
        hidden=8, num_cosines=4, num_online_taus=4, num_target_taus=1, num_act_taus=1))
    agent = build_agent(cfg, (1, OBS_DIM), 2, "cpu", seed=0)
    agent.target.head.quantile_function = _TauDependentQuantiles()
    seen = {}
    head_target = agent.head.target

    def spy(next_dist: ReturnDist, next_action: Tensor, reward: Tensor, discount: Tensor) -> TargetDist:
        seen["own_argmax"], seen["next_action"] = next_dist.q_values().argmax(-1), next_action
        return head_target(next_dist, next_action, reward, discount)

    agent.head.target = spy
    n = 512
    agent.update(make_batch(torch.randn(n, 1, OBS_DIM), torch.zeros(n, dtype=torch.long), torch.zeros(n),
                            torch.ones(n)))
    agreement = (seen["own_argmax"] == seen["next_action"]).float().mean()
    assert 0.4 < agreement < 0.6


def test_agent_reports_each_groups_eps_dominated_fraction() -> None:
    """FQF has two groups (its fraction proposal net has its own RMSprop), so both tags appear; "main" holds the
    torso and the quantile head, so it has a figure for each part, while the fraction group lies in the head."""
    agent = build_agent(AgentConfig(torso="mlp", head=FractionQuantileHeadConfig(num_fractions=4)), (1, 4), 2, "cpu")
    tags = {"eps_dominated_fraction", "eps_dominated_fraction/torso", "eps_dominated_fraction/head",
            "fraction_eps_dominated_fraction"}
    stats = agent.optimizer_stats()
    assert set(stats) == tags
    assert all(math.isnan(value) for value in stats.values())
    agent.update(make_batch(torch.randn(8, 1, 4), torch.zeros(8, dtype=torch.long), torch.ones(8), torch.zeros(8)))
    parts = {"torso": list(agent.online.torso.parameters()), "head": list(agent.online.head.parameters())}
    main = eps_dominated_fraction(agent.optimizers["main"], parts)
    stats = agent.optimizer_stats()
    assert stats == {"eps_dominated_fraction": main[""], "eps_dominated_fraction/torso": main["torso"],
                     "eps_dominated_fraction/head": main["head"],
                     "fraction_eps_dominated_fraction": eps_dominated_fraction(agent.optimizers["fraction"])[""]}
    assert all(0.0 <= value <= 1.0 for value in stats.values())
