"""Shapes and invariants of agents/torsos.py and agents/heads.py."""

import pytest
import torch
import torch.nn.functional as F

from agents.heads import AtomLinear, ExpectedValueHead, Head, ReturnDist, TargetDist, gather_action
from agents.losses import huber
from agents.torsos import MLP, NatureCNN, same_padding


def test_nature_cnn_shapes_and_uint8_scaling() -> None:
    torch.manual_seed(0)
    cnn = NatureCNN(in_channels=4)
    assert cnn.out_features == 3136
    obs = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    features = cnn(obs)
    assert features.shape == (2, 3136) and features.dtype == torch.float32
    # uint8 pixels are scaled by 1/255 inside: same as running the convs on x / 255.
    assert torch.allclose(features, cnn.convs(obs.float() / 255.0).flatten(1), atol=1e-6)


def test_nature_cnn_other_frame_shape() -> None:
    assert NatureCNN(in_channels=2, frame_shape=(64, 64)).out_features == 64 * 4 * 4
    with pytest.raises(ValueError, match="too small"):
        NatureCNN(frame_shape=(20, 20))


def test_same_padding_matches_tensorflow_by_hand() -> None:
    # out = ceil(size / stride); total = (out - 1) * stride + kernel - size, the odd zero after
    assert same_padding(84, 8, 4) == (2, 2)      # 21 positions: 20 * 4 + 8 - 84 = 4
    assert same_padding(21, 4, 2) == (1, 2)      # 11 positions: 10 * 2 + 4 - 21 = 3
    assert same_padding(11, 3, 1) == (1, 1)
    assert same_padding(10, 4, 1) == (1, 2)
    assert same_padding(9, 1, 2) == (0, 0)       # a 1x1 kernel never pads


def test_nature_cnn_same_is_dopamines_network_shape_and_padding() -> None:
    torch.manual_seed(0)
    cnn = NatureCNN(in_channels=4, padding="same")
    assert cnn.out_features == 64 * 11 * 11
    obs = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    x = obs.float() / 255.0
    convs = [m for m in cnn.convs if isinstance(m, torch.nn.Conv2d)]
    # an independent route: pad by hand with the TF amounts, then an unpadded conv with the same weights
    for conv, (before, after) in zip(convs, [(2, 2), (1, 2), (1, 1)], strict=True):
        x = torch.relu(F.conv2d(F.pad(x, (before, after, before, after)), conv.weight, conv.bias, stride=conv.stride))
    assert x.shape == (2, 64, 11, 11)
    assert torch.allclose(cnn(obs), x.flatten(1), atol=1e-6)
    # stride 1 agrees with PyTorch's own 'same' padding (which also puts an odd zero after)
    conv = torch.nn.Conv2d(3, 5, kernel_size=4, padding="same")
    y = torch.randn(1, 3, 10, 10)
    assert torch.allclose(conv(y), F.conv2d(F.pad(y, (1, 2, 1, 2)), conv.weight, conv.bias), atol=1e-6)
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        NatureCNN(padding="full")


def test_nature_cnn_same_parameter_names_are_stable() -> None:
    # symmetric pads are the conv's own, asymmetric ones a ZeroPad2d; either way one module sits before
    # each conv, so checkpoints written with a pad module before every conv still load
    cnn = NatureCNN(padding="same")
    names = [f"convs.{i}.{p}" for i in (1, 4, 7) for p in ("weight", "bias")]
    assert [name for name, _ in cnn.named_parameters()] == names
    assert [m.padding for m in cnn.convs if isinstance(m, torch.nn.Conv2d)] == [(2, 2), (0, 0), (1, 1)]


def test_nature_cnn_channels_last_gives_same_features() -> None:
    nchw, nhwc = NatureCNN(), NatureCNN(channels_last=True)
    nhwc.load_state_dict(nchw.state_dict())
    obs = torch.randint(0, 256, (3, 4, 84, 84), dtype=torch.uint8)
    assert torch.allclose(nchw(obs), nhwc(obs), atol=1e-5)


def test_mlp_flattens_stacked_vector_obs() -> None:
    mlp = MLP(4, [16, 8])
    assert mlp.out_features == 8
    obs = torch.randn(5, 1, 4)
    assert torch.equal(mlp(obs), mlp(obs.view(5, 4)))
    assert mlp(obs).shape == (5, 8)
    assert MLP(4, []).out_features == 4


def test_return_dist_q_values_with_broadcast_probs() -> None:
    values = torch.tensor([[[1.0, 3.0], [2.0, 6.0]]])  # [B=1, A=2, N=2]
    dist = ReturnDist(values=values, probs=torch.tensor([[[0.25, 0.75]]]))  # [1, 1, N]
    assert torch.allclose(dist.q_values(), torch.tensor([[2.5, 5.0]]))


def test_gather_action() -> None:
    x = torch.arange(12.0).view(2, 3, 2)  # [B, A, N]
    action = torch.tensor([2, 0])
    assert torch.equal(gather_action(x, action), torch.tensor([[4.0, 5.0], [6.0, 7.0]]))
    assert torch.equal(gather_action(x[..., 0], action), torch.tensor([4.0, 6.0]))


@pytest.mark.parametrize("dueling", [False, True])
def test_atom_linear_shapes_with_free_leading_dims(dueling: bool) -> None:
    layer = AtomLinear(10, 16, num_actions=3, num_atoms=5, dueling=dueling)
    assert layer(torch.randn(4, 10)).shape == (4, 3, 5)
    assert layer(torch.randn(4, 7, 10)).shape == (4, 7, 3, 5)  # IQN-style [B, N_tau, F]


@pytest.mark.parametrize("hidden, dueling", [(0, False), (0, True), (16, False), (16, True)])
def test_atom_linear_modulated_equals_the_product_it_replaces(hidden: int, dueling: bool) -> None:
    """forward_modulated(ψ, φ) = forward(ψ ⊙ φ), values and gradients: hidden 0 (out = 3 atoms·actions < N = 8)
    takes the per-row-weight matmul, hidden 16 the product as written."""
    torch.manual_seed(0)
    layer = AtomLinear(10, hidden, num_actions=3, num_atoms=1, dueling=dueling).double()
    features = torch.randn(4, 10, dtype=torch.float64, requires_grad=True)
    modulation = torch.randn(4, 8, 10, dtype=torch.float64, requires_grad=True)
    fast = layer.forward_modulated(features, modulation)
    fast_grads = torch.autograd.grad(fast.square().sum(), [features, modulation, *layer.parameters()])
    slow = layer(features[:, None, :] * modulation)
    slow_grads = torch.autograd.grad(slow.square().sum(), [features, modulation, *layer.parameters()])
    assert fast.shape == slow.shape == (4, 8, 3, 1)
    torch.testing.assert_close(fast, slow, rtol=1e-12, atol=1e-12)
    for fast_grad, slow_grad in zip(fast_grads, slow_grads, strict=True):
        torch.testing.assert_close(fast_grad, slow_grad, rtol=1e-12, atol=1e-12)


def test_dueling_mean_over_actions_recovers_value_stream() -> None:
    torch.manual_seed(0)
    layer = AtomLinear(10, 16, num_actions=4, num_atoms=3, dueling=True)
    features = torch.randn(6, 10)
    out = layer(features)  # [B, A, N]
    value = layer.value_stream(features)  # [B, N]
    advantage = layer.action_stream(features).view(6, 4, 3)
    assert torch.allclose(out.mean(dim=1), value, atol=1e-6)  # mean_a (V + A − mean A) = V
    assert torch.allclose(out - value[:, None], advantage - advantage.mean(dim=1, keepdim=True), atol=1e-6)


def test_expected_value_head_protocol() -> None:
    torch.manual_seed(0)
    head = ExpectedValueHead(8, num_actions=3, hidden=16, dueling=False, kappa=1.0)
    assert isinstance(head, Head)
    features = torch.randn(4, 8)
    dist = head(features)
    assert dist.values.shape == (4, 3, 1)
    assert torch.equal(dist.q_values(), dist.values[..., 0])
    assert head.num_taus("online") == 0
    assert set(head.param_groups()) == {"main"}
    assert len(head.param_groups()["main"]) == len(list(head.parameters()))

    next_dist = ReturnDist(values=torch.tensor([[[1.0], [4.0]], [[2.0], [3.0]]]), probs=torch.ones(1, 1, 1))
    target = head.target(next_dist, torch.tensor([1, 0]), torch.tensor([1.0, -1.0]), torch.tensor([0.5, 0.0]))
    assert torch.allclose(target.values, torch.tensor([[1.0 + 0.5 * 4.0], [-1.0]])) and target.weights is None

    action = torch.tensor([0, 2, 1, 1])
    y = torch.tensor([0.0, 1.0, 2.0, -3.0])
    losses = head.loss(dist, action, TargetDist(y[:, None]))
    assert set(losses) == {"main"} and losses["main"].shape == (4,)
    q_selected = dist.q_values()[torch.arange(4), action]
    assert torch.allclose(losses["main"], huber(y - q_selected, 1.0))
