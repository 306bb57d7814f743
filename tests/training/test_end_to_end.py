"""The whole app, in process and through the CLI: train, log, checkpoint, resume, evaluate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import train_config
from training.checkpoint import latest_checkpoint
from training.config import EvaluateConfig
from training.logging import read_metrics
from training.loop import run
from training.rundir import read_status
from training.scoring import evaluate_run

ROOT = Path(__file__).resolve().parents[2]

# A few thousand Atari frames: learning starts after 200 agent steps, episodes capped at 2000 frames, so
# each evaluation phase (2 envs x 2000 frames) completes an episode on each env.
TINY_ATARI = [
    "experiment=quickstart",
    "trainer.total_frames=4000",
    "agent.warmup_steps=200",
    "agent.target_update_period_steps=200",
    "trainer.eval_period_frames=2000",
    "trainer.eval_frames=4000",
    "env.eval_num_envs=2",
    "env.protocol.max_episode_frames=2000",
    "trainer.checkpoint_period_frames=2000",
    "trainer.log_period_frames=1000",
    "trainer.progress=false",
    "replay.capacity=5000",
]


@pytest.mark.slow
def test_quickstart_atari_run_writes_everything_and_evaluates(runs_root):
    cfg = train_config([*TINY_ATARI, f"runs_root={runs_root}"])
    assert run(cfg) == "done"
    run_dir = Path(cfg.run_dir)
    assert run_dir == runs_root / "quickstart" / "dqn" / "breakout" / "seed0"
    assert read_status(run_dir)["status"] == "done"
    assert list((run_dir / "tb").glob("events.out.tfevents.*"))
    records = read_metrics(run_dir)
    tags = set().union(*records)
    for tag in ("train/episode_return", "train/hns", "eval/return", "eval/hns", "loss/td", "q/mean",
                "perf/frames_per_s", "perf/updates_per_s", "optim/eps_dominated_fraction",
                "optim/eps_dominated_fraction/torso", "optim/eps_dominated_fraction/head"):
        assert tag in tags, tag
    assert max(r["frames"] for r in records) == 4000
    assert latest_checkpoint(run_dir).name == "step-0000000004000"
    options = json.loads((run_dir / "env_options.json").read_text())
    assert options["repeat_action_probability"] == 0.0 and options["reward_clipping"] is False

    path, summary = evaluate_run(EvaluateConfig(run_dir=str(run_dir), eval_frames=6000, num_envs=2))
    written = json.loads(path.read_text())
    assert not written["incomplete"] and written["episodes"] == len(written["returns"]) >= 2
    assert 6000 <= written["frames_played"] < 6000 + 2 * 4  # stops within one vector step of the budget
    assert written["mean_return"] == pytest.approx(sum(written["returns"]) / len(written["returns"]))
    assert written["hns"] == pytest.approx((written["mean_return"] - 1.7) / (30.5 - 1.7))
    assert written["train_frames"] == 4000

    # Starting the same config with a larger budget resumes from the checkpoint instead of restarting.
    cfg_more = train_config([*TINY_ATARI, f"runs_root={runs_root}", "trainer.total_frames=6000"])
    assert run(cfg_more) == "done"
    status = read_status(run_dir)
    assert status["resumed_from"].endswith("step-0000000004000")
    assert latest_checkpoint(run_dir).name == "step-0000000006000"


@pytest.mark.slow
def test_cli_train_then_evaluate(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    overrides = [*TINY_ATARI, "trainer.total_frames=2000", "trainer.eval_period_frames=2000",
                 f"runs_root={tmp_path}", "seed=1"]
    subprocess.run([sys.executable, str(ROOT / "train.py"), *overrides], check=True, env=env, cwd=tmp_path,
                   capture_output=True, timeout=600)
    run_dir = tmp_path / "quickstart" / "dqn" / "breakout" / "seed1"
    assert read_status(run_dir)["status"] == "done"
    result = subprocess.run([sys.executable, str(ROOT / "evaluate.py"), f"run_dir={run_dir}", "eval_frames=4000"],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert len(list((run_dir / "eval").glob("eval-*.json"))) == 1


def test_evaluate_without_checkpoint_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.yaml"):
        evaluate_run(EvaluateConfig(run_dir=str(tmp_path), eval_frames=1))


@pytest.mark.parametrize(("override", "message"), [
    ("env.game=brekout", "did you mean: breakout"),
    ("agent.gamma=1.5", "agent.gamma must be in (0, 1]"),
    ("agent.n_step=0", "agent.n_step must be >= 1"),
])
def test_cli_rejects_bad_values_before_any_work(tmp_path, override, message):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), override, f"runs_root={tmp_path / 'runs'}"],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "runs").exists()
