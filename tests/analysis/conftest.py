"""A small sweep on disk shared by the report tests: synthetic runs plus one real CartPole run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from analysis.report import ReportOptions, build_report
from tests.analysis.synthetic_runs import write_sweep
from training.config import train_config
from training.loop import run

# Few replicates: the report tests check structure, not CI widths.
FAST_OPTIONS = ReportOptions(reps=200, curve_reps=50)

# 400 CartPole frames, 100 updates, an evaluation every 200 frames: a real run in ~2 s.
TINY_CARTPOLE = [
    "experiment=cartpole",
    "experiment_name=tiny",
    "trainer.total_frames=400",
    "trainer.eval_period_frames=200",
    "trainer.eval_frames=200",
    "env.eval_num_envs=2",
    "agent.warmup_steps=300",
    "replay.capacity=1000",
    "trainer.checkpoint_period_frames=400",
    "trainer.progress=false",
    "logger.tensorboard=false",
]


@pytest.fixture(scope="session")
def sweep_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sweep") / "runs"
    write_sweep(root)
    # One torch thread: the tiny MLP gains nothing from two, and a second OpenMP thread crawls on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert run(train_config([*TINY_CARTPOLE, "agent=dqn", "seed=0", f"runs_root={root}"])) == "done"
    finally:
        torch.set_num_threads(threads)
    return root


@pytest.fixture(scope="session")
def report_path(sweep_root: Path) -> Path:
    return build_report(sweep_root, sweep_root.parent / "report.html", FAST_OPTIONS, progress=False)
