"""Overlapped acting and learning (`trainer.overlap`): the env steps while the agent updates.

The loop orders every vector step as act -> env step started -> updates -> env step collected ->
replay write, so the updates never see the step's own transition and the overlapped run must equal
the sequential one exactly: same parameters, replay, counters and logged values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from envs import build_env
from envs.config import EnvConfig
from tests.conftest import train_config
from tests.training.shared import CARTPOLE, assert_same
from training.device import overlap_env
from training.logging import read_metrics
from training.loop import Trainer

ATARI = [
    "env=atari", "env.game=pong", "agent=dqn", "agent.warmup_steps=200", "agent.train_period_steps=4",
    "agent.target_update_period_steps=100", "agent.epsilon.decay_steps=400", "replay.capacity=2000",
    "trainer.total_frames=1600", "trainer.eval_period_frames=100000000", "trainer.checkpoint_period_frames=100000000",
    "trainer.log_period_frames=400", "trainer.eval_frames=3200", "trainer.progress=false", "logger.tensorboard=false",
    "trainer.device=cpu",
]


def _train(tmp_path: Path, overrides: list[str], overlap: str) -> Trainer:
    cfg = train_config([*overrides, f"trainer.overlap={overlap}", f"runs_root={tmp_path / overlap}"])
    trainer = Trainer(cfg)
    assert trainer.overlap_env is (overlap == "on")
    assert trainer.train() == "done"
    return trainer


def _comparable(run_dir: Path) -> list[dict]:
    """Logged records without wall-clock values (the record's time, perf/* rates)."""
    return [{k: v for k, v in record.items() if k != "time" and not k.startswith("perf/")}
            for record in read_metrics(run_dir)]


@pytest.mark.parametrize("overrides", [ATARI, [*CARTPOLE, "agent=iqn", "replay=prioritized", "agent.n_step=3",
                                                "trainer.total_frames=1200"]], ids=["atari-dqn", "cartpole-iqn-per"])
def test_overlapped_run_equals_sequential_run(tmp_path: Path, overrides: list[str]) -> None:
    sequential = _train(tmp_path, overrides, "off")
    overlapped = _train(tmp_path, overrides, "on")
    assert overlapped.counters.updates == sequential.counters.updates > 30
    assert_same(overlapped.agent.state_dict(), sequential.agent.state_dict(), "agent")
    assert_same(overlapped.replay.state_dict(), sequential.replay.state_dict(), "replay")
    assert overlapped.counters == sequential.counters
    assert _comparable(Path(overlapped.cfg.run_dir)) == _comparable(Path(sequential.cfg.run_dir))


def test_atari_step_async_then_wait_equals_step() -> None:
    """ale-py's send/recv path gives what the blocking step gives, and misuse fails loudly."""
    cfg = EnvConfig(kind="atari", game="pong")
    blocking, split = build_env(cfg, num_envs=2, seed=3), build_env(cfg, num_envs=2, seed=3)
    try:
        assert np.array_equal(blocking.reset(), split.reset())
        rng = np.random.default_rng(0)
        for _ in range(30):
            actions = rng.integers(0, blocking.num_actions, size=2)
            expected = blocking.step(actions)
            split.step_async(actions)
            got = split.step_wait()
            for field in ("obs", "reward", "terminated", "truncated", "first"):
                assert np.array_equal(getattr(got, field), getattr(expected, field)), field
        with pytest.raises(RuntimeError, match="step_wait called without step_async"):
            split.step_wait()
        split.step_async(np.zeros(2, dtype=np.int64))
        with pytest.raises(RuntimeError, match="step_async called twice"):
            split.step_async(np.zeros(2, dtype=np.int64))
        split.step_wait()
        with pytest.raises(ValueError, match="actions must be in"):
            split.step_async(np.full(2, 99))
    finally:
        blocking.close()
        split.close()


def test_auto_overlaps_with_a_gpu_or_spare_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    import training.device as device

    assert overlap_env("on", torch.device("cpu")) and not overlap_env("off", torch.device("cuda"))
    assert overlap_env("auto", torch.device("cuda"))
    monkeypatch.setattr(device, "available_cores", lambda: torch.get_num_threads())
    assert not overlap_env("auto", torch.device("cpu"))
    monkeypatch.setattr(device, "available_cores", lambda: torch.get_num_threads() + 1)
    assert overlap_env("auto", torch.device("cpu"))
