"""Variance-scaling initialisation (agents/initialization.py) against torch's own Glorot bound and the
variance it promises, on every Linear and Conv of a built agent."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from agents import build_agent
from agents.config import InitConfig
from agents.initialization import initialize, variance_scaling_bound
from tests.conftest import train_config


def test_glorot_bound_is_torchs_xavier_uniform_bound():
    # torch: a = gain · sqrt(6 / (fan_in + fan_out)); flax variance_scaling(1, fan_avg): sqrt(3 / ((in + out)/2))
    assert variance_scaling_bound(36, 144, 1.0, "fan_avg") == pytest.approx(math.sqrt(6 / 180))
    assert variance_scaling_bound(3136, 512, 1 / math.sqrt(3), "fan_in") == pytest.approx(
        math.sqrt(math.sqrt(3) / 3136))


@pytest.mark.parametrize(("scale", "mode"), [(1.0, "fan_avg"), (1 / math.sqrt(3), "fan_in")])
def test_kernels_have_the_promised_variance_and_zero_biases(scale: float, mode: str):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(8, 32, 3), nn.Linear(400, 300))
    initialize(net, InitConfig(scheme="variance_scaling", scale=scale, mode=mode))
    conv, linear = net
    for layer, fan_in, fan_out in ((conv, 8 * 9, 32 * 9), (linear, 400, 300)):
        n = fan_in if mode == "fan_in" else (fan_in + fan_out) / 2
        assert layer.weight.var().item() == pytest.approx(scale / n, rel=0.05)
        assert layer.weight.abs().max().item() <= math.sqrt(3 * scale / n)
        assert not layer.bias.any()


def test_torch_scheme_keeps_pytorchs_draws():
    torch.manual_seed(0)
    before = nn.Linear(10, 5)
    torch.manual_seed(0)
    after = nn.Linear(10, 5)
    initialize(after, InitConfig(scheme="torch"))
    assert torch.equal(before.weight, after.weight) and torch.equal(before.bias, after.bias)


def test_agent_init_reaches_torso_and_head_and_is_seeded():
    cfg = train_config(["agent=qrdqn", "experiment=dopamine"]).agent
    first = build_agent(cfg, (4, 84, 84), 4, "cpu", seed=3).online
    again = build_agent(cfg, (4, 84, 84), 4, "cpu", seed=3).online
    layers = [m for m in first.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    assert len(layers) == 5 and all(not m.bias.any() for m in layers)
    for a, b in zip(first.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)


def test_bad_init_values_fail_naming_the_key():
    for overrides, match in ((["agent.init.scheme=he"], "agent.init.scheme: unknown scheme 'he'; valid: torch, "
                              "variance_scaling"), (["agent.init.mode=fan_out"], "agent.init.mode"),
                             (["agent.init.scale=0"], "agent.init.scale must be > 0")):
        with pytest.raises(ValueError, match=match):
            train_config(overrides).agent.init.validate()
