"""The real CLI under faults: every bad input fails before any work; SIGKILL and SIGTERM leave resumable runs."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from training.checkpoint import CHECKPOINT_DIR, latest_checkpoint, load_checkpoint
from training.rundir import read_status

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def cli(script: str, *args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / script), *args], env=ENV, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


# (overrides, what the message must contain: the bad value and the valid choices or range)
BAD_TRAIN_INPUTS = [
    (["agent=dqm"], ["dqm", "Available options", "dqn", "iqn", "fqf"]),
    (["env.game=brekout"], ["brekout", "did you mean: breakout"]),
    (["agent.learning_rate=0.1"], ["learning_rate", "AgentConfig"]),
    (["agent.batch_size=big"], ["big", "agent.batch_size"]),
    (["agent.optim.lr=0"], ["agent.optim.lr must be > 0, got 0.0"]),
    (["agent.optim.lr=-1e-4"], ["agent.optim.lr must be > 0, got -0.0001"]),
    (["agent.compile=true"], ["agent.compile: unknown mode 'True'; valid: none, optimizer, update, graph"]),
    (["agent=expectile", "agent.compile=graph", "trainer.device=cuda"],
     ["agent.compile=graph", "expectile head", "cannot be captured", "none, optimizer or update"]),
    (["agent.compile=graph", "trainer.device=cpu"], ["agent.compile=graph", "needs a CUDA device",
                                                      "trainer.device=cpu is cpu"]),
    (["trainer.overlap=maybe"], ["trainer.overlap: unknown setting 'maybe'; valid: auto, on, off"]),
    (["agent=fqf", "agent.head.fraction_lr=0"], ["agent.head.fraction_lr must be > 0, got 0.0"]),
    (["agent.batch_size=0"], ["agent.batch_size must be > 0, got 0"]),
    (["replay.capacity=-5"], ["replay.capacity must be > 0, got -5"]),
    (["trainer.total_frames=0"], ["trainer.total_frames must be > 0, got 0"]),
    (["agent.n_step=0"], ["agent.n_step must be >= 1, got 0"]),
    (["agent.gamma=1.5"], ["agent.gamma must be in (0, 1], got 1.5"]),
    (["agent.gamma=0"], ["agent.gamma must be in (0, 1], got 0.0"]),
    (["agent=c51", "agent.head.v_min=10", "agent.head.v_max=-10"], ["v_min (10.0) must be < agent.head.v_max (-10.0)"]),
    (["agent=c51", "agent.head.num_atoms=1"], ["agent.head.num_atoms must be >= 2, got 1"]),
    (["agent=qrdqn", "agent.head.num_quantiles=0"], ["agent.head.num_quantiles must be >= 1, got 0"]),
    (["agent=fqf", "agent.head.num_fractions=1"], ["agent.head.num_fractions must be >= 2, got 1"]),
    (["agent=iqn", "agent.head.num_online_taus=0"], ["agent.head.num_online_taus must be >= 1, got 0"]),
    (["agent.batch_size=64", "replay.capacity=32"], ["replay.capacity (32) must be >= agent.batch_size (64)"]),
    (["replay.capacity=1000"], ["replay.capacity (1000) must be >= agent.warmup_steps (50000)"]),
]


@pytest.mark.parametrize(("overrides", "messages"), BAD_TRAIN_INPUTS, ids=lambda v: " ".join(v) if
                         isinstance(v, list) and "=" in v[0] else None)
def test_train_rejects_bad_input_before_any_work(tmp_path: Path, overrides: list[str], messages: list[str]):
    runs = tmp_path / "runs"
    result = cli("train.py", *overrides, f"runs_root={runs}", "trainer.progress=false", cwd=tmp_path, timeout=120)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    for message in messages:
        assert message in output, output[-2000:]
    assert "Traceback" not in result.stderr
    assert not runs.exists(), "a rejected run must leave no run dir behind"


TINY_CARTPOLE = [
    "experiment=cartpole",
    "agent.warmup_steps=100",
    "trainer.total_frames=600",
    "trainer.eval_period_frames=600",
    "trainer.eval_frames=200",
    "trainer.checkpoint_period_frames=300",
    "trainer.progress=false",
    "logger.tensorboard=false",
    "replay.capacity=1000",
]


def test_evaluate_rejects_a_dir_without_checkpoint_and_a_foreign_checkpoint(tmp_path: Path):
    empty = cli("evaluate.py", f"run_dir={tmp_path / 'nothing'}", cwd=tmp_path)
    assert empty.returncode == 2 and "is not a run directory" in empty.stderr and "Traceback" not in empty.stderr

    runs = tmp_path / "runs"
    for agent in ("dqn", "qrdqn"):
        assert cli("train.py", f"agent={agent}", *TINY_CARTPOLE, f"runs_root={runs}", cwd=tmp_path).returncode == 0
    dqn_dir, qrdqn_dir = (runs / "default" / agent / "cartpole" / "seed0" for agent in ("dqn", "qrdqn"))
    own = cli("evaluate.py", f"run_dir={dqn_dir}", "eval_frames=200", cwd=tmp_path)
    assert own.returncode == 0, own.stderr

    # A run dir whose checkpoints came from another agent: copy qrdqn's checkpoints into dqn's run.
    shutil.rmtree(dqn_dir / CHECKPOINT_DIR)
    shutil.copytree(qrdqn_dir / CHECKPOINT_DIR, dqn_dir / CHECKPOINT_DIR)
    foreign = cli("evaluate.py", f"run_dir={dqn_dir}", "eval_frames=200", cwd=tmp_path)
    assert foreign.returncode == 2
    assert "written by agent 'qrdqn'" in foreign.stderr and "agent 'dqn'" in foreign.stderr
    assert "Traceback" not in foreign.stderr

    shutil.rmtree(dqn_dir / CHECKPOINT_DIR)
    missing = cli("evaluate.py", f"run_dir={dqn_dir}", cwd=tmp_path)
    assert missing.returncode == 2 and "has no complete checkpoint" in missing.stderr


def test_a_resumed_run_says_so_on_the_console_and_in_train_log(tmp_path: Path):
    runs = tmp_path / "runs"
    assert cli("train.py", "agent=dqn", *TINY_CARTPOLE, f"runs_root={runs}", cwd=tmp_path).returncode == 0
    resumed = cli("train.py", "agent=dqn", *TINY_CARTPOLE, "trainer.total_frames=900", "trainer.progress=true",
                  f"runs_root={runs}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    message = "resumed from checkpoints/step-0000000000600 at 600 frames"
    assert message in resumed.stdout + resumed.stderr
    assert message in (runs / "default" / "dqn" / "cartpole" / "seed0" / "train.log").read_text()


# Tiny Atari with a 40k-frame replay: each checkpoint writes ~280 MB, so a kill can land inside a write.
KILL_RUN = [
    "experiment=quickstart",
    "trainer.total_frames=6000",
    "agent.warmup_steps=200",
    "agent.target_update_period_steps=200",
    "trainer.eval_period_frames=6000",
    "trainer.eval_frames=1000",
    "env.eval_num_envs=1",
    "env.protocol.max_episode_frames=1000",
    "trainer.checkpoint_period_frames=800",
    "trainer.log_period_frames=400",
    "trainer.progress=false",
    "logger.tensorboard=false",
    "replay.capacity=40000",
]


def _start(runs: Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "train.py"), *KILL_RUN, f"runs_root={runs}"], env=ENV,
                            cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, process: subprocess.Popen, timeout: float = 240.0, poll: float = 0.002) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if process.poll() is not None:
            return False
        time.sleep(poll)
    return False


@pytest.mark.slow
def test_sigkill_at_random_moments_always_leaves_a_resumable_run(tmp_path: Path):
    """Kill -9 mid-training and mid-checkpoint-write, several times; each restart resumes and the run finishes."""
    runs = tmp_path / "runs"
    run_dir = runs / "quickstart" / "dqn" / "breakout" / "seed0"
    checkpoints = run_dir / CHECKPOINT_DIR
    rng = random.Random(0)
    # the first kill waits for a whole checkpoint, so the later ones always have one to keep (on a loaded
    # machine a run killed only at random moments may never finish writing its first)
    kinds = ["after_checkpoint", "in_write", "random", "in_write", "random"]
    resumed_frames = []
    for kind in kinds:
        before = latest_checkpoint(run_dir)
        process = _start(runs, tmp_path)
        if kind == "after_checkpoint":
            landed = _wait_for(lambda: latest_checkpoint(run_dir) is not None, process)
        elif kind == "in_write":
            def writing() -> bool:
                return checkpoints.is_dir() and any(p.name.startswith(".tmp-") for p in checkpoints.iterdir())
            landed = _wait_for(writing, process)
        else:
            pid = process.pid
            landed = _wait_for(lambda pid=pid: (read_status(run_dir) or {}).get("pid") == pid, process)
            time.sleep(rng.uniform(0.5, 4.0))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        assert landed, f"{kind}: the run ended before the kill ({process.stderr.read()[-2000:]})"
        latest = latest_checkpoint(run_dir)
        if latest is not None:  # every checkpoint that is listed loads whole
            parts = load_checkpoint(latest)
            assert set(parts) == {"agent", "replay", "trainer"}
            resumed_frames.append(int(latest.name.split("-")[1]))
        if before is not None:  # a kill never loses the checkpoint there was
            assert latest is not None and latest >= before, f"{kind}: {before} -> {latest}"
    process = _start(runs, tmp_path)
    assert process.wait(timeout=600) == 0, process.stderr.read()[-3000:]
    status = read_status(run_dir)
    assert status["status"] == "done" and status["frames"] == 6000
    assert status["resumed_from"] is not None, f"checkpoints listed after each kill: {resumed_frames}"
    assert not [p for p in checkpoints.iterdir() if p.name.startswith(".tmp-")]
    assert resumed_frames and max(resumed_frames) > 0


@pytest.mark.slow
def test_sigterm_checkpoints_and_exits_preempted_then_resumes(tmp_path: Path):
    runs = tmp_path / "runs"
    run_dir = runs / "quickstart" / "dqn" / "breakout" / "seed0"
    process = _start(runs, tmp_path)

    def training() -> bool:
        status = read_status(run_dir) or {}
        return status.get("pid") == process.pid and (run_dir / "metrics.jsonl").exists() and \
            (run_dir / "metrics.jsonl").stat().st_size > 0

    assert _wait_for(training, process, poll=0.05), process.stderr.read()[-2000:]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 0
    status = read_status(run_dir)
    assert status["status"] == "preempted" and status["signal"] == "SIGTERM"
    stopped_at = latest_checkpoint(run_dir)
    assert stopped_at is not None and int(stopped_at.name.split("-")[1]) == status["frames"]

    process = _start(runs, tmp_path)
    assert process.wait(timeout=600) == 0, process.stderr.read()[-3000:]
    status = read_status(run_dir)
    assert status["status"] == "done" and status["resumed_from"] == str(stopped_at)
