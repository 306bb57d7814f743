"""What learns: torsos, heads, losses, and the Agent that acts and updates.

`build_agent` is the only place an `AgentConfig` is read; below it every object takes explicit values.
Registries (the torso and optimizer entries are small builder functions):
- `TORSOS[cfg.torso](cfg, obs_shape, device) -> nn.Module` with `.out_features`;
- `HEADS[cfg.head.kind]`: the head class, built by `build_head` from the kind's schema (`agents/config.py`);
- `GROUP_OPTIMIZERS[group](cfg) -> OptimizerSpec` for each group a head's `param_groups()` returns.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Collection

import torch
from torch import nn

from agents.agent import OPTIMIZERS, Agent, OptimizerSpec, QNetwork
from agents.config import AgentConfig, HeadConfig
from agents.heads import (
    AtomLinear,
    CategoricalHead,
    ExpectedValueHead,
    ExpectileHead,
    FractionQuantileHead,
    Head,
    ImplicitQuantileHead,
    QuantileHead,
    ReturnDist,
)
from agents.initialization import initialize
from agents.torsos import MLP, MinAtarCNN, NatureCNN

__all__ = [
    "Agent",
    "AtomLinear",
    "CategoricalHead",
    "ExpectedValueHead",
    "FractionQuantileHead",
    "GROUP_OPTIMIZERS",
    "HEADS",
    "Head",
    "ImplicitQuantileHead",
    "MLP",
    "MinAtarCNN",
    "NatureCNN",
    "OptimizerSpec",
    "QNetwork",
    "QuantileHead",
    "ReturnDist",
    "TORSOS",
    "build_agent",
    "build_head",
]


# --- torsos -----------------------------------------------------------------------------------------
def _nature_cnn(cfg: AgentConfig, obs_shape: tuple[int, ...], device: torch.device, *,
                padding: str = "valid") -> nn.Module:
    if len(obs_shape) != 3:
        raise ValueError(f"torso '{cfg.torso}' needs obs_shape (S, H, W); got {obs_shape}")
    stack, height, width = obs_shape
    # channels_last measured faster for CPU updates only (see NatureCNN).
    return NatureCNN(in_channels=stack, frame_shape=(height, width), channels_last=device.type == "cpu",
                     padding=padding)


def _minatar_cnn(cfg: AgentConfig, obs_shape: tuple[int, ...], device: torch.device, *, rr: bool = False) -> nn.Module:
    """Young & Tian's (`rr=False`) or Revisiting Rainbow's (`rr=True`) MinAtar torso; see MinAtarCNN."""
    if len(obs_shape) != 4:
        raise ValueError(f"torso 'minatar_{'rr_' if rr else ''}cnn' needs obs_shape (S, C, H, W); got {obs_shape}")
    stack, channels, height, width = obs_shape
    return MinAtarCNN(stack * channels, (height, width), padding=1 if rr else 0)


def _mlp(cfg: AgentConfig, obs_shape: tuple[int, ...], device: torch.device) -> nn.Module:
    return MLP(math.prod(obs_shape), list(cfg.mlp_hidden))


TORSOS: dict[str, Callable[[AgentConfig, tuple[int, ...], torch.device], nn.Module]] = {
    "nature_cnn": _nature_cnn,
    "nature_cnn_same": functools.partial(_nature_cnn, padding="same"),
    "mlp": _mlp,
    "minatar_cnn": _minatar_cnn,
    "minatar_rr_cnn": functools.partial(_minatar_cnn, rr=True),
}
ATARI_TORSOS = ("nature_cnn", "nature_cnn_same")


# --- heads ------------------------------------------------------------------------------------------
HEADS: dict[str, type[Head]] = {
    "expected_value": ExpectedValueHead,
    "categorical": CategoricalHead,
    "quantile": QuantileHead,
    "implicit_quantile": ImplicitQuantileHead,
    "fraction_quantile": FractionQuantileHead,
    "expectile": ExpectileHead,
}


def build_head(cfg: HeadConfig, in_features: int, num_actions: int, dueling: bool) -> Head:
    """The head `cfg.kind` names, built from its schema's `head_kwargs()` (agents/config.py)."""
    head_class = HEADS[cfg.kind]
    return head_class(in_features, num_actions, dueling=dueling, **cfg.head_kwargs())


# --- optimizers per parameter group -----------------------------------------------------------------
def _main_optimizer(cfg: AgentConfig) -> OptimizerSpec:
    o = cfg.optim
    return OptimizerSpec(
        name=o.name, lr=o.lr, eps=o.eps, alpha=o.alpha, centered=o.centered, max_grad_norm=o.max_grad_norm
    )


def _fraction_optimizer(cfg: AgentConfig) -> OptimizerSpec:
    """FQF's fraction proposal net (Yang et al. 2019, Sec. 5): RMSProp with a tiny lr, not centered."""
    return OptimizerSpec(
        name="rmsprop",
        lr=cfg.head.fraction_lr,
        eps=cfg.head.fraction_eps,
        alpha=0.95,
        centered=False,
        max_grad_norm=cfg.optim.max_grad_norm,
    )


GROUP_OPTIMIZERS: dict[str, Callable[[AgentConfig], OptimizerSpec]] = {
    "main": _main_optimizer,
    "fraction": _fraction_optimizer,
}


def _check_choice(what: str, name: str, valid: Collection[str]) -> None:
    """Fail before any work with the valid choices listed (STYLE habit 7)."""
    if name not in valid:
        raise ValueError(f"unknown {what} '{name}'; valid: {', '.join(sorted(valid))}")


def build_agent(
    cfg: AgentConfig,
    obs_shape: tuple[int, ...],
    num_actions: int,
    device: torch.device | str,
    *,
    seed: int = 0,
) -> Agent:
    """Build the `Agent` an `AgentConfig` describes.

    Args:
        cfg: the agent config (dataclass or an OmegaConf node with the same fields).
        obs_shape: one observation, (S, *frame_shape): (4, 84, 84) for Atari, (1, 4) for CartPole.
        num_actions: size of the (minimal) action set.
        device: where the networks and the exploration generator live.
        seed: seeds the network initialisation (without touching the global RNG), the
            exploration generator and the τ generator (`Agent`); equal seeds give identical agents.
    """
    _check_choice("head", cfg.head.kind, HEADS)
    _check_choice("torso", cfg.torso, TORSOS)
    _check_choice("optimizer", cfg.optim.name, OPTIMIZERS)
    obs_shape = tuple(int(d) for d in obs_shape)
    device = torch.device(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torso = TORSOS[cfg.torso](cfg, obs_shape, device)
        head = build_head(cfg.head, torso.out_features, num_actions, cfg.dueling)
        initialize(nn.ModuleList([torso, head]), cfg.init)
    groups = head.param_groups()
    for group in groups:
        _check_choice("parameter group", group, GROUP_OPTIMIZERS)
    optimizers = {group: GROUP_OPTIMIZERS[group](cfg) for group in groups}
    return Agent(
        QNetwork(torso, head), optimizers=optimizers, double_q=cfg.double_q, device=device, seed=seed,
        compile=cfg.compile,
    )
