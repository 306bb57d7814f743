"""The ε-dominated fraction of Adam and RMSprop steps, against gradient RMS values worked out by hand."""

import math

import pytest
import torch

from agents.agent import OptimizerSpec
from agents.optim_stats import eps_dominated_fraction, gradient_rms

EPS = 1e-4
# After one step from zero state: Adam's v̂ = g² exactly, so r = |g|; RMSprop's E[g²] = (1 − α)·g².
GRADS = torch.tensor([1e-6, -5e-5, 2e-4, -3e-2, 0.0, 1.0])


def _stepped(name: str, grads: torch.Tensor, steps: int = 1, **spec: object) -> torch.optim.Optimizer:
    param = torch.nn.Parameter(torch.zeros_like(grads))
    optimizer = OptimizerSpec(name=name, lr=1e-3, eps=EPS, **spec).build([param])
    for _ in range(steps):
        param.grad = grads.clone()
        optimizer.step()
    return optimizer


def _rms(optimizer: torch.optim.Optimizer) -> torch.Tensor:
    group = optimizer.param_groups[0]
    return gradient_rms(optimizer, group, group["params"][0])


@pytest.mark.parametrize("fused", [True, False])
def test_adam_rms_is_the_bias_corrected_gradient_rms(fused):
    optimizer = _stepped("adam", GRADS, fused=fused)
    torch.testing.assert_close(_rms(optimizer), GRADS.abs())
    # Three equal gradients: v = (1 − β₂³)·g², v̂ = g² again.
    torch.testing.assert_close(_rms(_stepped("adam", GRADS, steps=3, fused=fused)), GRADS.abs())
    # |g| below 1e-4: 1e-6, 5e-5 and 0 of six.
    assert eps_dominated_fraction(optimizer) == {"": pytest.approx(3 / 6)}


def test_rmsprop_rms_plain_and_centered():
    alpha = 0.95
    plain = _stepped("rmsprop", GRADS, alpha=alpha, centered=False)
    torch.testing.assert_close(_rms(plain), GRADS.abs() * math.sqrt(1 - alpha))
    # Centered: E[g²] − E[g]² = (1 − α)g² − (1 − α)²g² = α(1 − α)g².
    centered = _stepped("rmsprop", GRADS, alpha=alpha, centered=True)
    torch.testing.assert_close(_rms(centered), GRADS.abs() * math.sqrt(alpha * (1 - alpha)))
    # r = |g|·0.218: below 1e-4 for 1e-6, 5e-5, 2e-4 (4.4e-5) and 0.
    assert eps_dominated_fraction(centered) == {"": pytest.approx(4 / 6)}


def test_fraction_counts_elements_over_every_parameter_and_is_nan_before_a_step():
    small, large = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(1))
    optimizer = OptimizerSpec(name="adam", lr=1e-3, eps=EPS).build([small, large])
    assert math.isnan(eps_dominated_fraction(optimizer)[""])
    small.grad, large.grad = torch.full((3,), 1e-7), torch.ones(1)
    optimizer.step()
    assert eps_dominated_fraction(optimizer) == {"": pytest.approx(3 / 4)}


def test_each_part_counts_its_own_weights_and_parts_holding_all_or_none_are_left_out():
    small, large, other = (torch.nn.Parameter(torch.zeros(n)) for n in (3, 2, 4))
    optimizer = OptimizerSpec(name="adam", lr=1e-3, eps=EPS).build([small, large])
    parts = {"torso": [small], "head": [large, other], "everything": [small, large], "elsewhere": [other]}
    before = eps_dominated_fraction(optimizer, parts)
    assert set(before) == {"", "torso", "head"} and all(math.isnan(value) for value in before.values())
    # |g| below 1e-4: two of small's three, one of large's two.
    small.grad, large.grad = torch.tensor([1e-7, 1e-5, 1.0]), torch.tensor([1e-6, 1e-2])
    optimizer.step()
    assert eps_dominated_fraction(optimizer, parts) == {
        "": pytest.approx(3 / 5), "torso": pytest.approx(2 / 3), "head": pytest.approx(1 / 2)}
