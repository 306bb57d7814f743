"""The A2C loss and n-step returns against hand-computed values; the agent's inputs."""

from __future__ import annotations

import math

import pytest
import torch

from neuro.metarl.a2c import a2c_loss, n_step_returns
from neuro.metarl.agent import RecurrentActorCritic, agent_inputs


def test_n_step_returns_by_hand() -> None:
    rewards = torch.tensor([[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]])  # [T=3, B=2]
    discounts = torch.tensor([[0.9, 0.0], [0.9, 0.9], [0.9, 0.9]])  # env 1's episode ends at t=0
    bootstrap = torch.tensor([10.0, 10.0])
    returns = n_step_returns(rewards, discounts, bootstrap)
    g2 = 2 + 0.9 * 10  # 11
    g1 = 0 + 0.9 * g2  # 9.9
    g0 = 1 + 0.9 * g1  # 9.91
    expected = torch.tensor([[g0, 1.0], [g1, g1], [g2, g2]])
    torch.testing.assert_close(returns, expected)
    with pytest.raises(ValueError, match="need rewards and discounts"):
        n_step_returns(rewards, discounts[:2], bootstrap)


def test_a2c_loss_by_hand() -> None:
    logits = torch.tensor([[[0.0, math.log(3.0)]]], requires_grad=True)  # π = (0.25, 0.75)
    values = torch.tensor([[2.0]], requires_grad=True)
    out = a2c_loss(logits, values, torch.tensor([[1]]), torch.tensor([[3.0]]), value_coef=0.5, entropy_coef=0.1)
    entropy = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert float(out["policy_loss"]) == pytest.approx(-math.log(0.75))  # advantage 1
    assert float(out["value_loss"]) == pytest.approx(0.5)
    assert float(out["entropy"]) == pytest.approx(entropy)
    assert float(out["loss"].detach()) == pytest.approx(-math.log(0.75) + 0.5 * 0.5 - 0.1 * entropy)
    out["loss"].backward()
    assert float(values.grad) == pytest.approx(0.5 * (2.0 - 3.0))  # only the critic term reaches V
    # d/dz of −A log π_1 − c_H H at π = (¼, ¾): −A(e_1 − π) − c_H dH/dz, dH/dz_i = −π_i(log π_i + H)
    pi = torch.tensor([0.25, 0.75])
    d_entropy = -pi * (torch.log(pi) + entropy)
    expected = -(torch.tensor([0.0, 1.0]) - pi) - 0.1 * d_entropy
    torch.testing.assert_close(logits.grad[0, 0], expected)


def test_agent_inputs_and_shapes() -> None:
    obs = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    inputs = agent_inputs(obs, torch.tensor([-1, 1]), torch.tensor([0.0, 1.0]), torch.tensor([0, 5]), 2, 10)
    torch.testing.assert_close(inputs, torch.tensor([[1.0, 0, 0, 0, 0, 0.0], [1.0, 0, 0, 1, 1, 0.5]]))
    model = RecurrentActorCritic(6, 2, hidden_size=8)
    logits, value, (h, c) = model(inputs, model.initial_state(2))
    assert logits.shape == (2, 2) and value.shape == (2,) and h.shape == c.shape == (2, 8)
