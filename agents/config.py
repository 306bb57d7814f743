"""Typed schemas of the agent config group (`configs/agent/*.yaml`).

Hydra validates the YAML against these dataclasses at startup, so a wrong type or an unknown key
fails before any work starts. Values live in the YAML files; the defaults here only fix types.

Each head kind has its own schema (a `HeadConfig` subclass): an agent file selects it in its defaults
list (`- /schema/head@head: quantile`), so `agent.head` accepts exactly that head's keys. Each schema
checks its own values (`validate`) and gives its head's constructor arguments (`head_kwargs`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar


def _require(ok: bool, key: str, value: Any, requirement: str) -> None:
    """Fail naming `agent.head.<key>`, the value and the valid range."""
    if not ok:
        raise ValueError(f"agent.head.{key} must be {requirement}, got {value}")


@dataclass
class HeadConfig:
    """What every head has. `kind` is fixed by the subclass (its `KIND`); `hidden` is the width of the
    head's hidden layer. Not a head by itself: the schema Hydra merges an agent's chosen kind into."""

    KIND: ClassVar[str] = ""
    OPTIMIZER_KEYS: ClassVar[tuple[str, ...]] = ()  # keys read by a parameter group's optimizer, not the head

    kind: str = ""
    hidden: int = 512

    def validate(self) -> None:
        """Raise ValueError naming the first value that cannot work."""
        if self.kind not in HEAD_CONFIGS:
            raise ValueError(f"agent.head.kind: unknown head '{self.kind}'; valid: {', '.join(sorted(HEAD_CONFIGS))}")
        if not isinstance(self, HEAD_CONFIGS[self.kind]):
            raise ValueError(f"agent.head.kind: '{self.kind}' does not match this agent's head schema "
                             f"'{self.KIND or 'none'}' ({type(self).__name__}); the head comes with the agent: "
                             f"choose an agent (configs/agent/) or a schema (`- /schema/head@head: {self.kind}`)")
        _require(self.hidden >= 0, "hidden", self.hidden, ">= 0 (0 = no hidden layer: one Linear after the torso)")

    def head_kwargs(self) -> dict[str, Any]:
        """The head constructor's keyword arguments: every key but `kind` and the optimizer's."""
        skip = {"kind", *self.OPTIMIZER_KEYS}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}


@dataclass
class ExpectedValueHeadConfig(HeadConfig):
    """DQN (Mnih et al. 2015): one value per action; TD loss `huber` with threshold `kappa` (Nature DQN's
    error clipping) or `mse` (δ², the loss Dopamine's JAX DQN uses by default)."""

    KIND: ClassVar[str] = "expected_value"
    LOSSES: ClassVar[tuple[str, ...]] = ("huber", "mse")
    kind: str = KIND
    loss: str = "huber"
    kappa: float = 1.0

    def validate(self) -> None:
        super().validate()
        _require(self.loss in self.LOSSES, "loss", self.loss, f"one of {', '.join(self.LOSSES)}")
        _require(self.kappa > 0, "kappa", self.kappa, "> 0 (the Huber threshold)")


@dataclass
class CategoricalHeadConfig(HeadConfig):
    """C51 (Bellemare et al. 2017): `num_atoms` probabilities on the support [v_min, v_max]."""

    KIND: ClassVar[str] = "categorical"
    kind: str = KIND
    num_atoms: int = 51
    v_min: float = -10.0
    v_max: float = 10.0

    def validate(self) -> None:
        super().validate()
        _require(self.num_atoms >= 2, "num_atoms", self.num_atoms, ">= 2")
        if not self.v_min < self.v_max:
            raise ValueError(f"agent.head.v_min ({self.v_min}) must be < agent.head.v_max ({self.v_max})")


@dataclass
class QuantileHeadConfig(HeadConfig):
    """QR-DQN (Dabney et al. 2018a): `num_quantiles` quantiles at the midpoints, quantile Huber loss."""

    KIND: ClassVar[str] = "quantile"
    kind: str = KIND
    num_quantiles: int = 200
    kappa: float = 1.0

    def validate(self) -> None:
        super().validate()
        _require(self.num_quantiles >= 1, "num_quantiles", self.num_quantiles, ">= 1")
        _require(self.kappa >= 0, "kappa", self.kappa, ">= 0 (0 = the quantile loss without Huber)")


@dataclass
class ImplicitQuantileHeadConfig(HeadConfig):
    """IQN (Dabney et al. 2018b): quantiles at sampled τ through `num_cosines` cosine features cos(π i τ),
    i from `first_cosine` (the paper: 0; Dopamine: 1); N, N' and K τ samples for the online net, the target
    net and acting."""

    KIND: ClassVar[str] = "implicit_quantile"
    kind: str = KIND
    num_cosines: int = 64
    first_cosine: int = 0
    num_online_taus: int = 64
    num_target_taus: int = 64
    num_act_taus: int = 32
    kappa: float = 1.0

    def validate(self) -> None:
        super().validate()
        for key in ("num_cosines", "num_online_taus", "num_target_taus", "num_act_taus"):
            _require(getattr(self, key) >= 1, key, getattr(self, key), ">= 1")
        _require(self.first_cosine in (0, 1), "first_cosine", self.first_cosine, "0 (the IQN paper) or 1 (Dopamine)")
        _require(self.kappa >= 0, "kappa", self.kappa, ">= 0 (0 = the quantile loss without Huber)")


@dataclass
class FractionQuantileHeadConfig(HeadConfig):
    """FQF (Yang et al. 2019): `num_fractions` proposed fractions, quantiles as IQN; the fraction
    proposal net has its own RMSProp (`fraction_lr`, `fraction_eps`) and entropy regularisation."""

    KIND: ClassVar[str] = "fraction_quantile"
    OPTIMIZER_KEYS: ClassVar[tuple[str, ...]] = ("fraction_lr", "fraction_eps")
    kind: str = KIND
    num_fractions: int = 32
    num_cosines: int = 64
    kappa: float = 1.0
    entropy_coef: float = 0.0
    fraction_lr: float = 2.5e-9
    fraction_eps: float = 1.0e-5

    def validate(self) -> None:
        super().validate()
        _require(self.num_fractions >= 2, "num_fractions", self.num_fractions, ">= 2")
        _require(self.num_cosines >= 1, "num_cosines", self.num_cosines, ">= 1")
        _require(self.kappa >= 0, "kappa", self.kappa, ">= 0 (0 = the quantile loss without Huber)")
        _require(self.entropy_coef >= 0, "entropy_coef", self.entropy_coef, ">= 0")
        _require(self.fraction_lr > 0, "fraction_lr", self.fraction_lr, "> 0")
        _require(self.fraction_eps > 0, "fraction_eps", self.fraction_eps, "> 0")


@dataclass
class ExpectileHeadConfig(HeadConfig):
    """ER-DQN (Rowland et al. 2019): `num_expectiles` expectiles, odd so that τ = 0.5 (the mean) is one."""

    KIND: ClassVar[str] = "expectile"
    kind: str = KIND
    num_expectiles: int = 31

    def validate(self) -> None:
        super().validate()
        _require(self.num_expectiles >= 1 and self.num_expectiles % 2 == 1, "num_expectiles", self.num_expectiles,
                 "odd and >= 1 (τ = 0.5, the mean used for acting, must be one of the (2i + 1)/2N)")


HEAD_CONFIGS: dict[str, type[HeadConfig]] = {
    schema.KIND: schema
    for schema in (ExpectedValueHeadConfig, CategoricalHeadConfig, QuantileHeadConfig, ImplicitQuantileHeadConfig,
                   FractionQuantileHeadConfig, ExpectileHeadConfig)
}


# The one flat head record that configs and run dirs had before the per-kind schemas: every head's keys.
LEGACY_FLAT_HEAD_KEYS = frozenset({
    "kind", "hidden", "num_atoms", "v_min", "v_max", "num_quantiles", "kappa", "num_cosines", "num_online_taus",
    "num_target_taus", "num_act_taus", "fraction_lr", "fraction_eps", "entropy_coef", "num_expectiles",
})


def head_values_from_flat(values: dict[str, Any]) -> dict[str, Any]:
    """The keys of `values["kind"]`'s schema from a flat head record (a run's `config.yaml` written before the
    per-kind schemas): foreign heads' keys are dropped and FQF's `num_quantiles` becomes `num_fractions`.
    Any other record is returned as it is, so its unknown keys still fail."""
    if set(values) != LEGACY_FLAT_HEAD_KEYS or values["kind"] not in HEAD_CONFIGS:
        return dict(values)
    renamed = {**values, "num_fractions": values["num_quantiles"]} if values["kind"] == "fraction_quantile" else values
    own = {f.name for f in fields(HEAD_CONFIGS[values["kind"]])}
    return {key: value for key, value in renamed.items() if key in own}


@dataclass
class OptimConfig:
    """Optimizer of the main parameter group. `eps` is torch's (added outside the square root)."""

    name: str = "adam"
    lr: float = 2.5e-4
    eps: float = 3.125e-4
    alpha: float = 0.95
    centered: bool = True
    max_grad_norm: float | None = 10.0  # None: no clipping


INIT_SCHEMES = ("torch", "variance_scaling")
INIT_MODES = ("fan_in", "fan_avg")


@dataclass
class InitConfig:
    """Weight initialisation of every Linear and Conv layer (agents/initialization.py). `torch`: PyTorch's
    defaults. `variance_scaling`: uniform kernels of variance `scale`/n, n = fan_in or the mean of fan_in
    and fan_out (`mode`), zero biases, as flax's initializers: scale 1, fan_avg is Glorot (Xavier) uniform."""

    scheme: str = "torch"
    scale: float = 1.0
    mode: str = "fan_avg"

    def validate(self) -> None:
        """Raise ValueError naming the first value that cannot work."""
        if self.scheme not in INIT_SCHEMES:
            raise ValueError(f"agent.init.scheme: unknown scheme '{self.scheme}'; valid: {', '.join(INIT_SCHEMES)}")
        if self.mode not in INIT_MODES:
            raise ValueError(f"agent.init.mode: unknown mode '{self.mode}'; valid: {', '.join(INIT_MODES)}")
        if not self.scale > 0:
            raise ValueError(f"agent.init.scale must be > 0, got {self.scale}")


@dataclass
class EpsilonConfig:
    """Linear ε-greedy decay from `start` to `end` over `decay_steps` agent steps after warm-up."""

    start: float = 1.0
    end: float = 0.01
    decay_steps: int = 250_000


@dataclass
class AgentConfig:
    """One agent. `head` is one of the `HEAD_CONFIGS` schemas (DQN's by default here; in the Hydra tree the
    agent file picks it)."""

    name: str = "dqn"
    torso: str = "nature_cnn"
    mlp_hidden: list[int] = field(default_factory=lambda: [128])
    init: InitConfig = field(default_factory=InitConfig)
    head: HeadConfig = field(default_factory=ExpectedValueHeadConfig)
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
    # "graph": the whole update as one CUDA graph (CUDA only);
    # see Agent's `compile` and BENCHMARKS.md for where each pays
    compile: str = "none"
