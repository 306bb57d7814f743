"""Hand-computed values and gradients of agents/losses.py."""

import pytest
import torch

from agents.losses import expected_value_td_loss, huber


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
