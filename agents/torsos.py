"""Torsos: observations -> flat features [B, F]. Every torso exposes `.out_features` (F).

The torso is shared by all heads and belongs to the "main" parameter group. It stops before any
fully connected hidden layer so that IQN/FQF can modulate the convolutional features with their
quantile embedding (Dabney et al. 2018b, Eq. 4: ψ(x) ⊙ φ(τ)) before the head's hidden layer.

Initialisation is PyTorch's default (Kaiming-uniform with a = √5 for conv and linear layers).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["NatureCNN", "MinAtarCNN", "MLP", "conv_output_size", "same_padding"]


def conv_output_size(size: int, kernel: int, stride: int) -> int:
    """Spatial size after a 'valid' (unpadded) convolution: floor((size - kernel) / stride) + 1."""
    return (size - kernel) // stride + 1


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's and flax's 'SAME' padding of one dimension as (before, after): the output has
    ceil(size / stride) positions, and an odd total puts the extra zero after (`lax.padtype_to_pads`)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class NatureCNN(nn.Module):
    """The convolutional torso of Mnih et al. (2015): [B, C, H, W] frames -> [B, 3136] features.

    conv 32×8×8 stride 4 -> ReLU -> conv 64×4×4 stride 2 -> ReLU -> conv 64×3×3 stride 1 -> ReLU ->
    flatten. For 84×84 frames the maps are 20×20, 9×9, 7×7, so F = 64·7·7 = 3136. With `padding="same"`
    (torso `nature_cnn_same`) each conv pads as TensorFlow's and flax's default 'SAME' does, which is
    Dopamine's network (`dopamine/jax/networks.py`: `nn.Conv` without a padding argument): maps 21×21,
    11×11, 11×11 and F = 64·11·11 = 7744.

    Input is uint8 pixels (the replay stores frames as uint8); they are converted to float32 and
    scaled by 1/255 inside, so callers never hold a float copy of a batch of frames. A float input
    is taken to be on the same [0, 255] scale.

    `channels_last=True` stores the conv weights and activations NHWC, which oneDNN convolutions on
    CPU prefer; the flattened feature order is the usual NCHW (C, H, W) one either way, so the
    option changes speed only, never results beyond float rounding. On CPU the update gains (the
    backward convolutions are faster NHWC) while inference alone loses a little, so `build_agent`
    turns it on for CPU devices only (on GPUs it has not been measured). The uint8 batch is reordered
    to NHWC before the float conversion: reordering the float copy instead makes three 3.6 MB float
    temporaries per forward instead of one.
    """

    def __init__(
        self,
        in_channels: int = 4,
        frame_shape: tuple[int, int] = (84, 84),
        *,
        channels_last: bool = False,
        padding: str = "valid",
    ) -> None:
        super().__init__()
        if padding not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
        layers: list[nn.Module] = []
        height, width = frame_shape
        channels = in_channels
        for features, kernel, stride in ((32, 8, 4), (64, 4, 2), (64, 3, 1)):
            conv_padding = 0
            if padding == "same":
                (top, bottom), (left, right) = same_padding(height, kernel, stride), same_padding(width, kernel, stride)
                if top == bottom == left == right:  # the conv pads itself, without a padded copy of its input
                    conv_padding = top
                    layers.append(nn.Identity())  # keeps the layer indices, so state_dict keys, the same
                else:
                    layers.append(nn.ZeroPad2d((left, right, top, bottom)))
                height, width = height + top + bottom, width + left + right
            conv = nn.Conv2d(channels, features, kernel_size=kernel, stride=stride, padding=conv_padding)
            layers += [conv, nn.ReLU()]
            height, width = conv_output_size(height, kernel, stride), conv_output_size(width, kernel, stride)
            channels = features
        if height < 1 or width < 1:
            raise ValueError(f"frame_shape {frame_shape} is too small for the Nature CNN (needs >= 36x36)")
        self.convs = nn.Sequential(*layers)
        self.in_channels = in_channels
        self.out_features = 64 * height * width
        self.channels_last = channels_last
        if channels_last:
            self.convs.to(memory_format=torch.channels_last)

    def forward(self, obs: Tensor) -> Tensor:
        """[B, C, H, W] uint8 (or float on the 0..255 scale) -> [B, out_features] float32."""
        if self.channels_last:  # reorder the uint8 pixels (4x fewer bytes than floats), then convert
            obs = obs.contiguous(memory_format=torch.channels_last)
        x = obs.to(torch.float32, copy=True).mul_(1.0 / 255.0)  # a fresh copy scaled in place: one allocation
        return self.convs(x).flatten(1)


class MinAtarCNN(nn.Module):
    """MinAtar's one-convolution torso: [B, S, C, H, W] binary frames -> [B, 16·H'·W'] features.

    conv 16×3×3 stride 1 -> ReLU -> flatten; the fully connected layers are the head's (`head.hidden`).
    Two published variants, which differ in padding and initialisation only:
    - Young & Tian (2019), MinAtar's `examples/dqn.py` (`minatar_cnn`): unpadded conv, PyTorch's default
      init; 10×10 frames give 8×8 maps, F = 1024; their fully connected hidden layer of 128 units is the
      head's hidden layer (`head.hidden = 128`).
    - Revisiting Rainbow (Obando-Ceron & Castro 2021; `networks_new.py`, net_conf 'minatar', and Dopamine's
      `labs/environments/minatar/minatar_env.py`) (`minatar_rr_cnn`): flax's default 'SAME' padding, so
      the maps stay 10×10 and F = 1600; their configs have no hidden layer (`head.hidden = 0`) and draw every
      kernel Glorot-uniform (`variance_scaling(1, 'fan_avg', 'uniform')`) with zero biases: that is
      `agent.init` (agents/initialization.py), set by `experiment=minatar_rr`.

    The S stacked frames of C channels each are the conv's S·C input channels (MinAtar uses S = 1). The
    frames are 0/1 (uint8 or bool), converted to float32 without scaling.
    """

    def __init__(
        self, in_channels: int, frame_shape: tuple[int, int] = (10, 10), *, padding: int = 0
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 16, kernel_size=3, stride=1, padding=padding)
        height, width = (conv_output_size(size + 2 * padding, 3, 1) for size in frame_shape)
        if height < 1 or width < 1:
            raise ValueError(f"frame_shape {frame_shape} is too small for a 3x3 convolution with padding {padding}")
        self.in_channels = in_channels
        self.out_features = 16 * height * width

    def forward(self, obs: Tensor) -> Tensor:
        """[B, S, C, H, W] (or [B, S·C, H, W]) 0/1 frames -> [B, out_features] float32."""
        x = obs.reshape(obs.shape[0], self.in_channels, *obs.shape[-2:]).to(torch.float32)
        return torch.relu(self.conv(x)).flatten(1)


class MLP(nn.Module):
    """Fully connected torso for vector observations: [B, 1, D] or [B, D] -> [B, hidden[-1]].

    Every dimension after the batch is flattened (a classic-control obs is [B, S=1, D]), then each
    width in `hidden` adds Linear -> ReLU. With `hidden=[]` the torso is the identity on the
    flattened input and `out_features = in_features`.
    """

    def __init__(self, in_features: int, hidden: list[int] | tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.layers = nn.Sequential(*layers)
        self.in_features = in_features
        self.out_features = width

    def forward(self, obs: Tensor) -> Tensor:
        """[B, ...] with prod(...) = in_features -> [B, out_features] float32."""
        return self.layers(obs.flatten(1).to(torch.float32))
