"""The per-step hot path never reads a tensor's value on the host: on a GPU each such read (`bool(t)`,
`t.item()`, `t.cpu()`, ...) would block until every kernel queued before it has run, so the CPU could
no longer run ahead of the device.

The check is by caller: while the hot path runs, these Tensor methods raise when they are called
from the project's own hot-path files (agents/, replay/, and training/'s loop, metrics and schedules).
torch's internals stay free to read their own host-side tensors (an optimizer's CPU step counter, say),
which costs no sync.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch

from agents import build_agent
from replay import build_replay
from training.config import train_config
from training.metrics import UpdateMetrics
from training.schedules import linear_beta

ROOT = Path(__file__).resolve().parents[2]
GUARDED = tuple(str(p) for p in (ROOT / "agents", ROOT / "replay", *(ROOT / "training" / f"{name}.py"
                                                                    for name in ("loop", "metrics", "schedules"))))
HOST_READS = ("__bool__", "__int__", "__float__", "__index__", "item", "tolist", "cpu", "numpy")
AGENTS = ("dqn", "c51", "qrdqn", "iqn", "fqf", "expectile")


@contextmanager
def no_host_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Make HOST_READS raise when called from a GUARDED file; yields the list of calls let through."""
    allowed: list[str] = []
    for name in HOST_READS:
        original = getattr(torch.Tensor, name)

        def guarded(self, *args, _name=name, _original=original, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            frame = sys._getframe(1)
            where = f"{frame.f_code.co_filename}:{frame.f_lineno}"
            if frame.f_code.co_filename.startswith(GUARDED):
                raise AssertionError(f"Tensor.{_name} called at {where}: a host sync on a GPU")
            allowed.append(f"{_name} at {where}")
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, guarded)
    yield allowed
    monkeypatch.undo()


def test_the_guard_catches_a_host_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard itself: a read from a guarded file raises, one from elsewhere goes through."""
    namespace: dict = {}
    exec(compile("def read(t):\n    return bool(t.sum() > 0)\n", str(ROOT / "replay" / "fake.py"), "exec"),
         namespace)
    with no_host_reads(monkeypatch) as allowed:
        with pytest.raises(AssertionError, match="Tensor.__bool__ called at .*replay/fake.py:2"):
            namespace["read"](torch.ones(3))
        assert bool(torch.ones(1))  # from this test file: allowed
    assert allowed and allowed[0].startswith("__bool__ at ")


def fill(replay, steps: int, rng: np.random.Generator) -> None:  # noqa: ANN001
    for t in range(steps):
        replay.add(rng.integers(0, 256, size=(2, 84, 84), dtype=np.uint8), np.full(2, t % 50 == 0),
                   rng.integers(0, 6, size=2), rng.normal(size=2).astype(np.float32), np.full(2, t % 50 == 49),
                   np.zeros(2, bool))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["uniform", "prioritized"])
@pytest.mark.parametrize("agent_name", AGENTS)
def test_act_add_sample_update_never_read_tensors_on_the_host(agent_name: str, kind: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = train_config([f"agent={agent_name}", f"replay={kind}", "replay.capacity=2000"])
    agent = build_agent(cfg.agent, (4, 84, 84), 6, "cpu", seed=0)
    replay = build_replay(cfg.replay, num_envs=2, frame_shape=(84, 84), frame_dtype=torch.uint8, stack=4,
                          n_step=cfg.agent.n_step, gamma=cfg.agent.gamma, reward_clip=cfg.agent.reward_clip,
                          batch_size=cfg.agent.batch_size, device="cpu", seed=0)
    rng = np.random.default_rng(0)
    fill(replay, 120, rng)
    metrics_log = UpdateMetrics(torch.device("cpu"))
    obs = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    with no_host_reads(monkeypatch):
        for update in range(2):  # the second round runs with the optimizer state the first one made
            actions = agent.act(obs, 0.1)
            fill(replay, 1, rng)
            replay.set_beta(linear_beta(200 + update, start=cfg.replay.beta_start, end=cfg.replay.beta_end,
                                        anneal_steps=cfg.replay.beta_anneal_steps))
            batch = replay.sample()
            metrics = agent.update(batch)
            replay.update_priorities(batch.index, metrics.pop("priorities"))
            metrics_log.record(metrics, update)
    assert actions.shape == (2,)
    assert metrics_log.drain(0)["loss"] >= 0.0  # the reads happen here, at log time
