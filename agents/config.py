"""Typed schemas of the agent config group (`configs/agent/*.yaml`).

Hydra validates the YAML against these dataclasses at startup, so a wrong type or an unknown key
fails before any work starts. Values live in the YAML files; the defaults here only fix types.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class HeadConfig:
    """Every head's settings in one record; `kind` picks the head, the others ignore foreign keys."""

    kind: str = "expected_value"
    hidden: int = 512
    # C51 (Bellemare et al. 2017)
    num_atoms: int = 51
    v_min: float = -10.0
    v_max: float = 10.0
    # QR-DQN (Dabney et al. 2018a), IQN (Dabney et al. 2018b), FQF (Yang et al. 2019)
    num_quantiles: int = 200
    kappa: float = 1.0
    num_cosines: int = 64
    num_online_taus: int = 64
    num_target_taus: int = 64
    num_act_taus: int = 32
    # FQF fraction proposal network
    fraction_lr: float = 2.5e-9
    fraction_eps: float = 1.0e-5
    entropy_coef: float = 0.0
    # expectile head (issue on the dopamine side)
    num_expectiles: int = 31


@dataclass
class OptimConfig:
    """Optimizer of the main parameter group. `eps` is torch's (added outside the square root)."""

    name: str = "adam"
    lr: float = 2.5e-4
    eps: float = 3.125e-4
    alpha: float = 0.95
    centered: bool = True
    max_grad_norm: float = 10.0


@dataclass
class EpsilonConfig:
    """Linear ε-greedy decay from `start` to `end` over `decay_steps` agent steps after warm-up."""

    start: float = 1.0
    end: float = 0.01
    decay_steps: int = 250_000


@dataclass
class AgentConfig:
    name: str = "dqn"
    torso: str = "nature_cnn"
    mlp_hidden: list[int] = field(default_factory=lambda: [128])
    head: HeadConfig = field(default_factory=HeadConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    gamma: float = 0.99
    n_step: int = 1
    double_q: bool = False
    dueling: bool = False
    batch_size: int = 32
    reward_clip: float | None = 1.0
    train_period_steps: int = 4
    target_update_period_steps: int = 10_000
    warmup_steps: int = 50_000
    epsilon: EpsilonConfig = field(default_factory=EpsilonConfig)
    eval_epsilon: float = 0.05
    # torch.compile: "none" | "optimizer" (the optimizer steps) | "update" (steps, forwards and loss);
    # see Agent's `compile` and BENCHMARKS.md for where each pays
    compile: str = "none"
