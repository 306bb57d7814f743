"""The learner shared by every head: online/target networks, ε-greedy acting, the update, state.

`Agent` knows nothing about configs: `agents.build_agent` translates an `AgentConfig` into a
`QNetwork` and explicit `OptimizerSpec`s. Everything the heads differ in goes through the `Head`
contract of `agents/heads.py`; the fractions τ of sampling heads come from the agent's own
`TauSampler` (`agents/taus.py`).

Host syncs: neither `act` nor `update` calls `.item()`, `.cpu()` or branches on a tensor value, so
on a GPU they only enqueue kernels; metrics come back as detached device tensors that the logger
syncs once per logging interval.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from agents.cuda_graph import GraphedUpdate, set_capturable
from agents.heads import Head, ReturnDist, gather_action
from agents.optim_stats import eps_dominated_fraction
from agents.taus import TauSampler

__all__ = ["TransitionBatch", "OptimizerSpec", "OPTIMIZERS", "COMPILE_MODES", "QNetwork", "Agent"]

OPTIMIZERS = ("adam", "rmsprop")
COMPILE_MODES = ("none", "optimizer", "update", "graph")


class TransitionBatch(Protocol):
    """What `Agent.update` reads from a replay batch (`replay.buffer.Batch` satisfies it).

    obs/next_obs [B, S, *frame_shape]; action [B] int64; reward [B] float32 (clipped, n-step summed);
    discount [B] float32 = γ^k (1 − terminated); weight [B] float32 importance weights.
    """

    obs: Tensor
    action: Tensor
    reward: Tensor
    discount: Tensor
    next_obs: Tensor
    weight: Tensor


@dataclass(frozen=True)
class OptimizerSpec:
    """How to build the optimizer of one parameter group, as explicit values (no config object).

    - "adam": torch.optim.Adam(lr, eps), betas (0.9, 0.999). `fused=None` picks torch's fused
      kernel when every parameter is on CPU or CUDA: one pass over the parameters instead of the
      for-loop or foreach versions' several (scripts/bench.py times the update).
    - "rmsprop": torch.optim.RMSprop(lr, alpha, eps, centered), momentum 0, foreach kernels.
      NOTE torch adds eps OUTSIDE the square root, θ -= lr·g / (sqrt(v − ḡ²) + eps), whereas
      optax/TF (and the Nature DQN's 0.01 "min squared gradient") add it inside,
      sqrt(v − ḡ² + eps). The same number therefore means a different optimizer; configs hold
      torch's eps.

    `max_grad_norm` clips this group's gradients by their global L2 norm before the step
    (None: no clipping, the norm is still reported). `fused` applies to Adam only (RMSprop has
    no fused kernel and uses foreach); False gives torch's default Adam implementation.
    """

    name: str
    lr: float
    eps: float
    alpha: float = 0.95
    centered: bool = True
    max_grad_norm: float | None = None
    fused: bool | None = None

    def __post_init__(self) -> None:
        if self.name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer '{self.name}'; valid: {', '.join(OPTIMIZERS)}")

    def build(self, params: Iterable[nn.Parameter], capturable: bool = False) -> torch.optim.Optimizer:
        """A torch optimizer over `params`; `capturable` keeps its step counts on the device so that
        its step can run inside a CUDA graph (`agents/cuda_graph.py`)."""
        params = list(params)
        if self.name == "adam":
            fused = self.fused
            if fused is None:
                fused = all(p.device.type in ("cpu", "cuda") for p in params)
            return torch.optim.Adam(params, lr=self.lr, eps=self.eps, fused=fused, capturable=capturable)
        return torch.optim.RMSprop(
            params, lr=self.lr, alpha=self.alpha, eps=self.eps, centered=self.centered, foreach=True,
            capturable=capturable,
        )


def _compiled_step(optimizer: torch.optim.Optimizer, backend: str) -> Any:
    """`optimizer.step` through `torch.compile` (the pattern of torch's compiled-optimizer recipe)."""

    @torch.compile(backend=backend, fullgraph=False)
    def step() -> None:
        optimizer.step()

    return step


class QNetwork(nn.Module):
    """torso + head: obs [B, S, ...] -> ReturnDist [B, A, N]."""

    def __init__(self, torso: nn.Module, head: Head) -> None:
        super().__init__()
        self.torso = torso
        self.head = head

    def forward(self, obs: Tensor, taus: Tensor | None = None) -> ReturnDist:
        """obs [B, S, ...] (+ taus [B, N] for sampled-fraction heads) -> ReturnDist."""
        return self.head(self.torso(obs), taus)


class Agent:
    """Online and target `QNetwork`s, one optimizer per parameter group, ε-greedy acting, the update.

    Args:
        network: the online network; the target network is a deep copy (eval mode, no grad).
        optimizers: one `OptimizerSpec` per group of `network.head.param_groups()` (exactly those
            keys); the torso's parameters join "main".
        double_q: choose the bootstrap action with the online net and evaluate it with the target
            net (van Hasselt et al. 2016) instead of both with the target net.
        device: where the networks live; `act`/`update` inputs must already be there.
        seed: seeds the generator of the exploration draws and the `TauSampler` of the fractions τ
            (network init is seeded by the builder); equal seeds give equal streams.
        compile: what of the update goes through `torch.compile` (COMPILE_MODES):
            "none": all eager.
            "optimizer": each optimizer step, so the per-parameter elementwise passes fuse into one
                loop (torch has no fused RMSprop: its centered foreach step makes six passes over
                the 6.4 MB fc layer).
            "update": the optimizer steps and the forward passes, target and loss (the backward
                runs the graph AOTAutograd derived).
            "graph" (CUDA only): the whole eager update captured as one CUDA graph and replayed with
                one launch (`agents/cuda_graph.py`); the first update pays the capture.
            Same results as eager up to float rounding (tests/agents/test_fast_paths.py,
            tests/agents/test_cuda_graph.py); the first update pays the compilation (seconds to tens
            of seconds on CPU; inductor needs a C++ compiler there). See BENCHMARKS.md and
            BENCHMARKS-GPU.md for where each mode pays.
        compile_backend: the `torch.compile` backend ("inductor"; tests use "aot_eager", which
            traces the same graphs without generating code).
    """

    def __init__(
        self,
        network: QNetwork,
        *,
        optimizers: Mapping[str, OptimizerSpec],
        double_q: bool = False,
        device: torch.device | str = "cpu",
        seed: int = 0,
        compile: str = "none",
        compile_backend: str = "inductor",
    ) -> None:
        self.device = torch.device(device)
        self.online = network.to(self.device)
        self.target = copy.deepcopy(self.online).eval().requires_grad_(False)
        self.double_q = double_q

        groups = {name: list(params) for name, params in self.online.head.param_groups().items()}
        if "main" not in groups:
            raise ValueError(f"head.param_groups() must contain 'main'; got {sorted(groups)}")
        if set(groups) != set(optimizers):
            raise ValueError(
                f"optimizers {sorted(optimizers)} must match the head's param groups {sorted(groups)}"
            )
        groups["main"] = list(self.online.torso.parameters()) + groups["main"]
        seen = [id(p) for params in groups.values() for p in params]
        if len(seen) != len(set(seen)) or set(seen) != {id(p) for p in self.online.parameters()}:
            raise ValueError("every network parameter must belong to exactly one param group")
        self._group_params = groups
        self._max_grad_norm = {name: optimizers[name].max_grad_norm for name in groups}
        # Groups whose gradients can take `_clip`'s direct foreach path (one device and dtype, foreach kernels).
        self._uniform_grads = {
            name: len({(p.device.type, p.device.index, p.dtype) for p in params}) == 1
            and params[0].device.type in ("cpu", "cuda")
            for name, params in groups.items()
        }
        if compile not in COMPILE_MODES:
            raise ValueError(f"unknown compile mode '{compile}'; valid: {', '.join(COMPILE_MODES)}")
        if compile == "graph" and self.device.type != "cuda":
            raise ValueError(f"compile mode 'graph' captures the update as a CUDA graph and needs a CUDA device; "
                             f"this agent is on {self.device}")
        if compile == "graph" and not network.head.graph_capturable:
            raise ValueError(f"compile mode 'graph': the {type(network.head).__name__}'s update cannot be captured "
                             "as a CUDA graph; use compile 'none', 'optimizer' or 'update'")
        self.compile_mode = compile
        self.optimizers: dict[str, torch.optim.Optimizer] = {
            name: optimizers[name].build(params, capturable=compile == "graph") for name, params in groups.items()
        }
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)
        self.tau_sampler = TauSampler(seed, self.device)
        self.num_updates = 0
        self._losses_fn = (
            torch.compile(self._losses, backend=compile_backend, dynamic=False) if compile == "update" else self._losses
        )
        self._optimizer_steps = {
            name: _compiled_step(optimizer, compile_backend) if compile in ("optimizer", "update") else optimizer.step
            for name, optimizer in self.optimizers.items()
        }
        self._graphed_update = (
            GraphedUpdate(self._update_step, list(self.online.parameters()), list(self.optimizers.values()),
                          self.device)
            if compile == "graph" else None
        )

    @property
    def head(self) -> Head:
        """The online network's head (its target/loss/num_taus are the ones the update calls)."""
        return self.online.head

    def _taus(self, batch_size: int, role: str) -> Tensor | None:
        """Fractions τ ~ U(0, 1) [batch_size, head.num_taus(role)] for `role` (TAU_ROLES), or None
        for a head that takes none."""
        num_taus = self.head.num_taus(role)
        return self.tau_sampler.sample(batch_size, num_taus) if num_taus > 0 else None

    @torch.inference_mode()
    def predict(self, obs: Tensor) -> ReturnDist:
        """The online network's return distribution on obs [B, S, ...] (taus of role "act"), no grad.

        For inspection (the trainer's probe histogram); acting goes through `act`.
        """
        return self.online(obs, self._taus(obs.shape[0], "act"))

    @torch.inference_mode()
    def act(self, obs: Tensor, epsilon: float) -> Tensor:
        """Batched ε-greedy: obs [E, S, ...] on `device` -> actions [E] int64.

        Each env independently takes a uniformly random action with probability ε and
        argmax_a Q(obs, a) otherwise (ties: lowest index). Both draws come from the agent's own
        generator and are made for every env every call, so the stream does not depend on ε.
        """
        num_envs = obs.shape[0]
        q_values = self.online(obs, self._taus(num_envs, "act")).q_values()  # [E, A]
        greedy = q_values.argmax(dim=-1)
        explore = torch.rand(num_envs, generator=self.generator, device=self.device) < epsilon
        random = torch.randint(q_values.shape[-1], (num_envs,), generator=self.generator, device=self.device)
        return torch.where(explore, random, greedy)

    def update(self, batch: TransitionBatch) -> dict[str, Tensor]:
        """One gradient step on every parameter group from a batch of B transitions.

        Returns detached tensors: "loss" (main group's weighted mean loss), "<group>_loss" for each
        other group, "q_mean" (mean online Q of the actions taken), "q_sd" (only for heads that predict return
        atoms: the mean standard deviation of the online return distribution of the actions taken), "grad_norm"
        (main group's global norm before clipping), "<group>_grad_norm" for other groups, and "priorities" [B]
        (the main per-sample loss, for prioritized replay).
        """
        batch_size = batch.action.shape[0]
        # Drawn here, in this order, so the τ streams are the same whether or not the losses are compiled.
        online_taus = self._taus(batch_size, "online")
        target_taus = self._taus(batch_size, "target")
        act_taus = self._taus(batch_size, "act")
        update_step = self._graphed_update or self._update_step
        metrics = update_step(batch.obs, batch.action, batch.reward, batch.discount, batch.next_obs, batch.weight,
                              online_taus, target_taus, act_taus)
        self.num_updates += 1
        return metrics

    def _update_step(self, *inputs: Tensor | None) -> dict[str, Tensor]:
        """Losses (`inputs` are `_losses`' arguments), backward, clipping and every optimizer's step on
        plain tensors: what `update` returns, free of host syncs so that `GraphedUpdate` can capture it."""
        group_losses, main_per_sample, q_stats = self._losses_fn(*inputs)
        self._zero_grads()
        total_loss = None
        for loss in group_losses.values():  # not sum(): its 0 + loss is one more op in the graph
            total_loss = loss if total_loss is None else total_loss + loss
        total_loss.backward()

        metrics: dict[str, Tensor] = {}
        for name in self.optimizers:
            grad_norm = self._clip(name)
            self._optimizer_steps[name]()
            prefix = "" if name == "main" else f"{name}_"
            metrics[f"{prefix}loss"] = group_losses[name].detach()
            metrics[f"{prefix}grad_norm"] = grad_norm.detach()
        metrics.update(q_stats)
        metrics["priorities"] = main_per_sample
        return metrics

    def _losses(
        self,
        obs: Tensor,
        action: Tensor,
        reward: Tensor,
        discount: Tensor,
        next_obs: Tensor,
        weight: Tensor,
        online_taus: Tensor | None,
        target_taus: Tensor | None,
        act_taus: Tensor | None,
    ) -> tuple[dict[str, Tensor], Tensor, dict[str, Tensor]]:
        """The update's forward half, on plain tensors so `torch.compile` can capture it whole.

        Returns ({group: weighted mean loss} with gradient, the main per-sample loss [B] detached,
        {"q_mean": the mean online Q of the actions taken, "q_sd": the mean SD of their return distributions where
        the head predicts atoms}, detached).
        """
        dist = self.online(obs, online_taus)
        with torch.no_grad():
            next_features = self.target.torso(next_obs)
            next_dist = self.target.head(next_features, target_taus)
            if self.double_q:
                selector = self.online(next_obs, act_taus)
            elif act_taus is not None:  # fresh fractions, so a* is not picked by the target's own samples
                selector = self.target.head(next_features, act_taus)
            else:
                selector = next_dist
            next_action = selector.q_values().argmax(dim=-1)
            target = self.head.target(next_dist, next_action, reward, discount)
        per_sample = self.head.loss(dist, action, target)
        group_losses = {name: (per_sample[name] * weight).mean() for name in self.optimizers}
        q_stats = {"q_mean": gather_action(dist.q_values().detach(), action).mean()}
        if self.head.predicts_return_atoms:
            detached = ReturnDist(dist.values.detach(), dist.probs.detach())
            q_stats["q_sd"] = gather_action(detached.return_sd(), action).mean()
        return group_losses, per_sample["main"].detach(), q_stats

    def _zero_grads(self) -> None:
        """Every optimizer's `zero_grad(set_to_none=True)`, without its per-call profiler scope."""
        for params in self._group_params.values():
            for p in params:
                p.grad = None

    @torch.no_grad()
    def _clip(self, group: str) -> Tensor:
        """Global L2 norm of `group`'s gradients before clipping; clips in place if configured.

        The ops of `torch.nn.utils.clip_grad_norm_` (norm of the per-tensor norms, then
        grad *= min(max_norm / (norm + 1e-6), 1)), called directly when the gradients share one
        device and dtype: torch's version regroups the tensors on every call, which cost more than
        the arithmetic on a small network.
        """
        grads = [p.grad for p in self._group_params[group] if p.grad is not None]
        max_norm = self._max_grad_norm[group]
        if not self._uniform_grads[group] or not grads:
            if max_norm is None:
                return torch.nn.utils.get_total_norm(grads)
            return torch.nn.utils.clip_grad_norm_([p for p in self._group_params[group] if p.grad is not None],
                                                  max_norm)
        total_norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
        if max_norm is not None:
            torch._foreach_mul_(grads, torch.clamp(float(max_norm) / (total_norm + 1e-6), max=1.0))
        return total_norm

    def optimizer_stats(self) -> dict[str, float]:
        """Per group, the fraction of weights whose optimizer step its ε dominates (`agents/optim_stats.py`):
        "eps_dominated_fraction" for "main", "<group>_eps_dominated_fraction" for the others, each followed by
        "/torso" and "/head" where the group holds weights of both; NaN before the first update. Reads optimizer
        state, so the trainer calls it once per log period, not per update."""
        parts = {"torso": list(self.online.torso.parameters()), "head": list(self.online.head.parameters())}
        stats = {}
        for name, optimizer in self.optimizers.items():
            tag = ("" if name == "main" else f"{name}_") + "eps_dominated_fraction"
            for part, fraction in eps_dominated_fraction(optimizer, parts).items():
                stats[f"{tag}/{part}" if part else tag] = fraction
        return stats

    def sync_target(self) -> None:
        """Copy the online weights into the target network (θ⁻ ← θ)."""
        self.target.load_state_dict(self.online.state_dict())

    def state_dict(self) -> dict[str, Any]:
        """Networks, every optimizer, the exploration and τ generators' states and `num_updates`."""
        return {
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "generator": self.generator.get_state(),
            "tau_sampler": self.tau_sampler.state_dict(),
            "num_updates": self.num_updates,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what `state_dict` saved (tensors may come from another device).

        A state saved before the agent owned the τ generator (no "tau_sampler"; an IQN head kept its
        generator in the networks as "head._extra_state") loads through `_upgrade_state`. Any other
        mismatch of keys fails with a ValueError naming the missing and unexpected ones.
        """
        state = _upgrade_state(state, self.device.type)
        missing, unexpected = sorted(set(STATE_KEYS) - set(state)), sorted(set(state) - set(STATE_KEYS))
        if missing or unexpected:
            raise ValueError(
                f"agent state does not match this agent: missing keys {missing}, unexpected keys {unexpected}; "
                f"expected {list(STATE_KEYS)}"
            )
        if set(state["optimizers"]) != set(self.optimizers):
            raise ValueError(
                f"checkpoint optimizer groups {sorted(state['optimizers'])} != {sorted(self.optimizers)}"
            )
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
            set_capturable(opt, self.compile_mode == "graph")
        if self._graphed_update is not None:
            self._graphed_update.reset()
        self.generator.set_state(state["generator"].cpu())
        if state["tau_sampler"] is not None:
            self.tau_sampler.load_state_dict(state["tau_sampler"])
        self.num_updates = int(state["num_updates"])


STATE_KEYS = ("online", "target", "optimizers", "generator", "tau_sampler", "num_updates")
"""The keys of `Agent.state_dict()`."""

_OLD_TAU_STATE_KEY = "head._extra_state"


def _upgrade_state(state: Mapping[str, Any], device_type: str) -> Mapping[str, Any]:
    """Map an agent state saved when the IQN head owned its τ generator to today's layout.

    Such a state has no "tau_sampler"; an IQN head's networks carry "head._extra_state" =
    {"device_type", "state"} (state None before the first draw), which becomes the agent's τ
    generator state when it was saved on `device_type`, as the head used it. Otherwise (no draws,
    another device type, a head that samples no τ) the agent keeps its freshly seeded τ generator (None).
    """
    if "tau_sampler" in state or "online" not in state or "target" not in state:
        return state
    upgraded = dict(state)
    upgraded["online"] = {k: v for k, v in state["online"].items() if k != _OLD_TAU_STATE_KEY}
    upgraded["target"] = {k: v for k, v in state["target"].items() if k != _OLD_TAU_STATE_KEY}
    old = state["online"].get(_OLD_TAU_STATE_KEY)
    usable = old is not None and old["state"] is not None and old["device_type"] == device_type
    upgraded["tau_sampler"] = {"generator": old["state"]} if usable else None
    return upgraded
