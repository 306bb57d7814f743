"""Weight initialisation schemes that reference implementations use, applied to a whole network.

PyTorch's own default (`torch`) draws kernels U(±1/sqrt(fan_in)) (variance 1/(3·fan_in)) and biases
likewise. The JAX references draw kernels by variance scaling and zero the biases (flax's defaults):

    W ~ U(−a, a),   a = sqrt(3 · scale / n),   n = fan_in  or  (fan_in + fan_out) / 2

so Var(W) = scale / n. Glorot (Xavier) uniform is scale 1, fan_avg: Dopamine's Nature DQN network and
Revisiting Rainbow's networks. Dopamine's C51/Rainbow, QR-DQN and IQN networks use scale 1/sqrt(3), fan_in.
A conv's fans count its receptive field: fan_in = C_in · k_h · k_w, fan_out = C_out · k_h · k_w.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from agents.config import InitConfig


def variance_scaling_bound(fan_in: int, fan_out: int, scale: float, mode: str) -> float:
    """The half-width a of U(−a, a) with variance scale/n (n by `mode`: fan_in or fan_avg)."""
    n = fan_in if mode == "fan_in" else (fan_in + fan_out) / 2
    return math.sqrt(3.0 * scale / n)


def initialize(network: nn.Module, cfg: InitConfig) -> None:
    """Re-draw every Linear and Conv2d kernel of `network` by `cfg` (zero biases); `torch` keeps PyTorch's
    defaults. Draws from torch's global generator, so the caller's seed fixes them."""
    if cfg.scheme == "torch":
        return
    with torch.no_grad():
        for module in network.modules():
            if not isinstance(module, (nn.Linear, nn.Conv2d)):
                continue
            receptive = math.prod(module.weight.shape[2:])
            fan_out, fan_in = module.weight.shape[0] * receptive, module.weight.shape[1] * receptive
            bound = variance_scaling_bound(fan_in, fan_out, cfg.scale, cfg.mode)
            module.weight.uniform_(-bound, bound)
            if module.bias is not None:
                module.bias.zero_()
