"""What several training test modules share: a tiny CartPole run's overrides and exact state comparison."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

CARTPOLE = [
    "experiment=cartpole",
    "agent.warmup_steps=300",
    "agent.target_update_period_steps=200",
    "trainer.eval_period_frames=1000",
    "trainer.eval_frames=200",
    "trainer.checkpoint_period_frames=1000",
    "trainer.log_period_frames=500",
    "trainer.progress=false",
    "logger.tensorboard=false",
    "replay.capacity=5000",
]


def assert_same(a: Any, b: Any, path: str = "") -> None:
    """Recursive exact equality of nested dicts/lists/tuples of tensors, arrays and plain values."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape, path
        assert torch.equal(a.cpu(), b.cpu()), path
    elif isinstance(a, np.ndarray):
        assert np.array_equal(a, b), path
    elif isinstance(a, dict):
        assert set(a) == set(b), f"{path}: keys {sorted(map(str, a))} != {sorted(map(str, b))}"
        for key in a:
            assert_same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"
