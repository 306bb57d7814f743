"""The whole update as one CUDA graph: `agent.compile=graph`.

On a GPU the update of a batch-32 Nature-CNN agent is a few hundred small kernels whose arithmetic
takes microseconds; launching them one by one from Python is what costs the milliseconds. A CUDA graph
records the kernels of one update (forward, target, loss, backward, gradient clipping, optimizer steps)
once and replays them with a single launch (PyTorch's "whole-network capture": torch.cuda.graphs).

What capture needs, and how it is kept exact:
- static inputs: each update copies the batch and the fractions τ into buffers the graph reads;
- capturable optimizers (their step counts live on the device): `Agent` builds them so in this mode;
- warm-up: a few eager updates on a side stream before capture (lazy cuBLAS/autograd set-up, optimizer
  state). They are real updates, so the parameters and optimizer states are snapshotted before them and
  copied back in place after (`TrainingStateSnapshot`): the first graphed update starts from exactly the
  state the eager one would have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import Tensor, nn

__all__ = ["TrainingStateSnapshot", "GraphedUpdate", "set_capturable"]

UpdateFn = Callable[..., dict[str, Tensor]]


class TrainingStateSnapshot:
    """Copies of parameters and optimizer states, restored in place (the tensors keep their addresses).

    A parameter the optimizer had no state for at snapshot time gets its state zeroed on restore: zero
    step, moments and averages are exactly the state torch's Adam and RMSprop create lazily on their
    first step.
    """

    def __init__(self, params: Iterable[nn.Parameter], optimizers: Iterable[torch.optim.Optimizer]) -> None:
        self._params = [(p, p.detach().clone()) for p in params]
        self._optimizers = list(optimizers)
        self._states = [
            {id(p): {k: v.clone() if isinstance(v, Tensor) else v for k, v in opt.state[p].items()}
             for group in opt.param_groups for p in group["params"] if p in opt.state}
            for opt in self._optimizers
        ]

    @torch.no_grad()
    def restore(self) -> None:
        """Write the snapshot back into the same tensors."""
        for param, saved in self._params:
            param.copy_(saved)
        for opt, saved_states in zip(self._optimizers, self._states, strict=True):
            for group in opt.param_groups:
                for p in group["params"]:
                    saved = saved_states.get(id(p))
                    for key, value in opt.state.get(p, {}).items():
                        if not isinstance(value, Tensor):
                            continue
                        if saved is None:
                            value.zero_()
                        else:
                            value.copy_(saved[key])


def set_capturable(optimizer: torch.optim.Optimizer, capturable: bool) -> None:
    """Make every group of `optimizer` (not) capturable, with each step count where torch then keeps it.

    `Optimizer.load_state_dict` takes the flags of the saved groups, so a checkpoint written in another
    compile mode would otherwise bring its own: a graphed update needs capturable steps (counts on the
    device), and an eager one on the CPU cannot take them. Counts stay on the device for capturable or
    fused groups and on the host otherwise, as torch's own loading places them.
    """
    for group in optimizer.param_groups:
        if "capturable" not in group:
            continue
        group["capturable"] = capturable
        on_device = capturable or bool(group.get("fused"))
        for p in group["params"]:
            step = optimizer.state.get(p, {}).get("step")
            if isinstance(step, Tensor):
                optimizer.state[p]["step"] = step.to(device=p.device if on_device else "cpu", dtype=torch.float32)


class GraphedUpdate:
    """`update_fn(*inputs) -> {name: tensor}` captured once as a CUDA graph and replayed per call.

    `update_fn` must be free of host syncs and keep the inputs' shapes; it is called eagerly only for the
    warm-up and traced once. A call with other shapes or dtypes (or after `reset`, which a replaced
    optimizer state needs) captures anew. The outputs of each call are fresh tensors (one device copy of
    the graph's packed outputs), so they survive the next replay.
    """

    def __init__(self, update_fn: UpdateFn, params: Sequence[nn.Parameter],
                 optimizers: Sequence[torch.optim.Optimizer], device: torch.device, warmup_updates: int = 3) -> None:
        if device.type != "cuda":
            raise ValueError(f"a CUDA graph needs a CUDA device; got {device}")
        self._update_fn = update_fn
        self._params = list(params)
        self._optimizers = list(optimizers)
        self._device = device
        self._warmup_updates = warmup_updates
        self._graph: torch.cuda.CUDAGraph | None = None
        self._signature: tuple | None = None
        self._static_inputs: list[Tensor | None] = []
        self._packed: Tensor | None = None
        self._layout: list[tuple[str, torch.Size, torch.dtype, int, int]] = []

    @property
    def captured(self) -> bool:
        """Whether a graph is held (the next call with the same shapes replays it)."""
        return self._graph is not None

    def reset(self) -> None:
        """Drop the graph; the next call captures anew (needed once the optimizers' state tensors are
        replaced, e.g. by `load_state_dict`)."""
        self._graph = None
        self._signature = None
        self._static_inputs = []
        self._packed = None

    def __call__(self, *inputs: Tensor | None) -> dict[str, Tensor]:
        signature = tuple(None if t is None else (tuple(t.shape), t.dtype) for t in inputs)
        if self._graph is None or signature != self._signature:
            self._capture(inputs, signature)
        for static, value in zip(self._static_inputs, inputs, strict=True):
            if static is not None:
                static.copy_(value)
        self._graph.replay()
        packed = self._packed.clone()
        return {name: packed[start:stop].view(shape).to(dtype) for name, shape, dtype, start, stop in self._layout}

    def _capture(self, inputs: Sequence[Tensor | None], signature: tuple) -> None:
        self.reset()
        static_inputs = [None if t is None else t.detach().clone() for t in inputs]
        snapshot = TrainingStateSnapshot(self._params, self._optimizers)
        current = torch.cuda.current_stream(self._device)
        side = torch.cuda.Stream(self._device)
        side.wait_stream(current)
        with torch.cuda.stream(side):
            for _ in range(self._warmup_updates):
                self._update_fn(*static_inputs)
        current.wait_stream(side)
        snapshot.restore()
        for p in self._params:
            p.grad = None
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            outputs = self._update_fn(*static_inputs)
            layout, start = [], 0
            for name, value in outputs.items():
                layout.append((name, value.shape, value.dtype, start, start + value.numel()))
                start += value.numel()
            packed = torch.cat([value.detach().reshape(-1).to(torch.float32) for value in outputs.values()])
        self._graph, self._signature = graph, signature
        self._static_inputs, self._packed, self._layout = static_inputs, packed, layout
