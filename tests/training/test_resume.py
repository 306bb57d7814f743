"""Runs that survive: exact state round trip, same-trajectory resume, non-finite stops, write failures."""

from __future__ import annotations

import errno
import json
import logging
import random
from pathlib import Path

import numpy as np
import pytest
import torch

import training.checkpoint as checkpoint_module
from tests.conftest import train_config
from tests.training.shared import CARTPOLE, assert_same
from training.checkpoint import CheckpointError, latest_checkpoint, list_checkpoints, load_checkpoint
from training.logging import read_metrics
from training.loop import NonFiniteError, Trainer, run
from training.resume import resume_conflicts
from training.rundir import RunDirError, read_status
from training.validation import ConfigError


def test_checkpoint_round_trip_restores_every_tensor_counter_and_rng(tmp_path: Path):
    """FQF (two optimizers) on prioritized replay: save → load gives back every piece of state."""
    cfg = train_config([*CARTPOLE, "agent=fqf", "replay=prioritized", "agent.head.num_fractions=8",
                        "trainer.total_frames=1000", f"runs_root={tmp_path}"])
    trainer = Trainer(cfg)
    assert trainer.train() == "done"
    saved = load_checkpoint(latest_checkpoint(Path(cfg.run_dir)))
    assert_same(saved["agent"], trainer.agent.state_dict(), "agent")
    assert set(saved["agent"]["optimizers"]) == {"main", "fraction"}

    random.seed(123)  # scramble the global RNGs: restore must bring them back
    np.random.seed(123)
    torch.manual_seed(123)
    restored = Trainer(cfg)
    restored.restore(latest_checkpoint(Path(cfg.run_dir)))
    parts = restored.checkpoint_parts()
    assert_same(parts["agent"], saved["agent"], "agent")
    assert_same(parts["replay"], saved["replay"], "replay")
    for key in ("counters", "probe_obs", "agent_name", "head_kind"):
        assert_same(parts["trainer"][key], saved["trainer"][key], key)
    rng = saved["trainer"]["rng"]
    assert random.getstate() == rng["python"]
    np_state = np.random.get_state()
    assert np_state[0] == rng["numpy"][0] and np.array_equal(np_state[1], rng["numpy"][1])
    assert torch.equal(torch.get_rng_state(), rng["torch"])
    assert restored.counters.agent_steps == 1000 and restored.counters.updates == trainer.counters.updates > 0
    loop = saved["trainer"]["loop"]  # CartPole saves its mid-episode state
    assert loop is not None and restored._restored_loop is not None
    assert_same(restored._restored_loop["obs"], loop["obs"], "loop.obs")


@pytest.mark.slow
@pytest.mark.parametrize("agent", ["iqn", "qrdqn"])
def test_resume_continues_the_same_trajectory(agent: str, tmp_path: Path):
    """2N frames straight == N frames, stop, resume, N more: identical parameters and replay.

    Exact because CartPole's sub-envs are saved mid-episode with their RNGs (Atari cannot do this:
    ale-py's vector env does not expose emulator state, so Atari resumes start fresh episodes).
    IQN exercises the τ sampler's generator; prioritized 3-step replay the sum tree and β.
    """
    common = [*CARTPOLE, f"agent={agent}", "replay=prioritized", "agent.n_step=3", "seed=5"]
    straight = train_config([*common, "trainer.total_frames=3000", f"runs_root={tmp_path / 'straight'}"])
    first_half = train_config([*common, "trainer.total_frames=1500", f"runs_root={tmp_path / 'resumed'}"])
    second_half = train_config([*common, "trainer.total_frames=3000", f"runs_root={tmp_path / 'resumed'}"])
    # Half-way (1500) is mid-episode and off the eval/checkpoint grid of 1000 frames except for the stop.
    first_half.trainer.eval_period_frames = straight.trainer.eval_period_frames = 1500
    second_half.trainer.eval_period_frames = 1500

    a = Trainer(straight)
    assert a.train() == "done"
    assert run(first_half) == "done"
    b = Trainer(second_half)
    assert b.train() == "done"
    assert read_status(Path(second_half.run_dir))["resumed_from"].endswith("step-0000000001500")
    assert_same(a.agent.state_dict(), b.agent.state_dict(), "agent")
    assert_same(a.replay.state_dict(), b.replay.state_dict(), "replay")
    assert a.counters.episodes == b.counters.episodes and a.counters.updates == b.counters.updates
    returns_a = [r["train/episode_return"] for r in read_metrics(Path(straight.run_dir)) if "train/episode_return" in r]
    returns_b = [r["train/episode_return"] for r in read_metrics(Path(second_half.run_dir))
                 if "train/episode_return" in r]
    assert returns_a == returns_b


def test_non_finite_loss_stops_the_run_naming_the_update_and_keeps_the_good_checkpoint(tmp_path, monkeypatch):
    """An infinite reward from update 1000 on poisons the loss for real (and then the weights)."""
    cfg = train_config([*CARTPOLE, "agent=dqn", "trainer.total_frames=4000", f"runs_root={tmp_path}"])
    original = Trainer.__init__

    def init(self, cfg):
        original(self, cfg)
        sample = self.replay.sample
        calls = {"n": 0}

        def poisoned_sample():
            batch = sample()
            calls["n"] += 1
            if calls["n"] >= 1000:  # update 1000 = frame 1299: after the 1000-frame checkpoint
                batch.reward.fill_(float("inf"))
            return batch

        self.replay.sample = poisoned_sample

    monkeypatch.setattr(Trainer, "__init__", init)
    with pytest.raises(NonFiniteError, match=r"non-finite loss at update 1000\b"):
        run(cfg)
    run_dir = Path(cfg.run_dir)
    status = read_status(run_dir)
    assert status["status"] == "failed" and "NonFiniteError" in status["error"] and "update 1000" in status["error"]
    assert [p.name for p in list_checkpoints(run_dir)] == ["step-0000000001000"]
    agent = load_checkpoint(latest_checkpoint(run_dir), parts=["agent"])["agent"]
    assert all(torch.isfinite(t).all() for t in agent["online"].values() if t.is_floating_point())


def test_full_disk_fails_clearly_and_keeps_previous_checkpoint(tmp_path: Path, monkeypatch):
    cfg = train_config([*CARTPOLE, "agent=dqn", "trainer.total_frames=3000", f"runs_root={tmp_path}"])
    real_save = torch.save
    writes = {"n": 0}

    def save(obj, f, *args, **kwargs):
        writes["n"] += 1
        if writes["n"] > 3:  # the second checkpoint's first part (3 parts per checkpoint)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(checkpoint_module.torch, "save", save)
    with pytest.raises(CheckpointError, match="No space left on device") as caught:
        run(cfg)
    run_dir = Path(cfg.run_dir)
    assert "step-0000000001000 is kept" in str(caught.value)
    assert [p.name for p in (run_dir / "checkpoints").iterdir()] == ["step-0000000001000"]
    assert read_status(run_dir)["status"] == "failed"


def test_unwritable_run_dir_fails_before_building_anything(tmp_path: Path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the runs root should be\n")
    cfg = train_config([*CARTPOLE, "agent=dqn", f"runs_root={blocker}"])
    monkeypatch.setattr("training.loop.build_env", lambda *a, **k: pytest.fail("env built before the check"))
    with pytest.raises(RunDirError, match="cannot write the run directory"):
        run(cfg)


def test_resume_false_moves_the_old_run_aside(tmp_path: Path):
    cfg = train_config([*CARTPOLE, "agent=dqn", "trainer.total_frames=1000", f"runs_root={tmp_path}"])
    assert run(cfg) == "done"
    run_dir = Path(cfg.run_dir)
    old_metrics = (run_dir / "metrics.jsonl").read_text()
    fresh = train_config([*CARTPOLE, "agent=dqn", "trainer.total_frames=1000", "trainer.resume=false",
                          f"runs_root={tmp_path}"])
    assert run(fresh) == "done"
    status = read_status(run_dir)
    assert status["resumed_from"] is None
    (moved,) = run_dir.parent.glob("seed0.replaced-*")
    assert moved.is_dir() and (moved / "metrics.jsonl").read_text() == old_metrics
    assert latest_checkpoint(moved).name == "step-0000000001000"


def test_resume_drops_metrics_logged_after_the_checkpoint(tmp_path: Path):
    cfg = train_config([*CARTPOLE, "agent=dqn", "trainer.total_frames=1000", f"runs_root={tmp_path}"])
    assert run(cfg) == "done"
    run_dir = Path(cfg.run_dir)
    with open(run_dir / "metrics.jsonl", "a") as f:  # what a killed run logged after its last checkpoint
        f.write(json.dumps({"frames": 1400, "train/episode_return": -123.5}) + "\n")  # no CartPole return
        f.write('{"frames": 15')  # a torn last line
    more = train_config([*CARTPOLE, "agent=dqn", "trainer.total_frames=2000", f"runs_root={tmp_path}"])
    assert run(more) == "done"
    frames = [r["frames"] for r in read_metrics(run_dir)]
    assert frames == sorted(frames) and -123.5 not in [r.get("train/episode_return") for r in read_metrics(run_dir)]


def test_a_stop_signal_cuts_an_evaluation_short(tmp_path: Path):
    """Evaluation polls the stop flag each step, so a preemption never waits for a 500k-frame phase."""
    from envs import build_env
    from training.evaluation import run_evaluation

    cfg = train_config([*CARTPOLE, "agent=dqn", f"runs_root={tmp_path}"])
    trainer = Trainer(cfg)
    env = build_env(cfg.env, num_envs=2, seed=0)
    polls = {"n": 0}

    def should_stop() -> bool:
        polls["n"] += 1
        return polls["n"] > 5

    try:
        result = run_evaluation(trainer.agent, env, epsilon=0.0, budget_frames=10_000, device=trainer.device,
                                seed=0, should_stop=should_stop)
    finally:
        env.close()
        trainer.env.close()
    assert result.interrupted and result.returns == [] and polls["n"] == 6


def test_a_resumed_run_says_so_in_its_log(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """The message goes through `logging`, which Hydra sends to the console and the run's `train.log`."""
    cfg = train_config([*CARTPOLE, "agent=dqn", "trainer.total_frames=1000", f"runs_root={tmp_path}"])
    with caplog.at_level(logging.INFO, logger="training.loop"):
        assert run(cfg) == "done"
        assert "resumed" not in caplog.text
        more = train_config([*CARTPOLE, "agent=dqn", "trainer.total_frames=1500", f"runs_root={tmp_path}"])
        assert run(more) == "done"
    assert "resumed from checkpoints/step-0000000001000 at 1000 frames" in caplog.messages


@pytest.fixture
def finished_iqn_run(tmp_path: Path):
    """A finished 1000-frame IQN CartPole run, and the config that resumes it for 500 frames more."""
    first = train_config([*CARTPOLE, "agent=iqn", "trainer.total_frames=1000", f"runs_root={tmp_path}"])
    assert run(first) == "done"
    more = train_config([*CARTPOLE, "agent=iqn", "trainer.total_frames=1500", f"runs_root={tmp_path}"])
    return more, latest_checkpoint(Path(first.run_dir))


def test_a_checkpoint_without_format_loads_while_its_parts_fit(finished_iqn_run):
    cfg, checkpoint = finished_iqn_run
    assert (checkpoint / checkpoint_module.FORMAT_FILE).read_text().strip() == str(checkpoint_module.CHECKPOINT_FORMAT)
    (checkpoint / checkpoint_module.FORMAT_FILE).unlink()  # as written before checkpoints had a format
    assert checkpoint_module.checkpoint_format(checkpoint) == 1
    assert run(cfg) == "done"
    assert read_status(Path(cfg.run_dir))["resumed_from"] == str(checkpoint)


def test_an_unknown_checkpoint_format_fails_before_loading_naming_found_expected_and_the_way_out(
        finished_iqn_run, monkeypatch):
    cfg, checkpoint = finished_iqn_run
    (checkpoint / checkpoint_module.FORMAT_FILE).write_text("99\n")
    monkeypatch.setattr("training.loop.load_checkpoint", lambda *a, **k: pytest.fail("loaded a part"))
    with pytest.raises(CheckpointError) as caught:
        run(cfg)
    message = str(caught.value)
    assert f"{checkpoint} has format 99" in message
    assert f"writes format {checkpoint_module.CHECKPOINT_FORMAT}" in message and "trainer.resume=false" in message


def test_an_older_checkpoint_whose_agent_state_changed_fails_clearly(finished_iqn_run):
    """A format-1 checkpoint whose agent part no longer fits: a CheckpointError naming the format and the
    failure, never a bare KeyError from deep inside `load_state_dict`."""
    cfg, checkpoint = finished_iqn_run
    (checkpoint / checkpoint_module.FORMAT_FILE).unlink()
    agent = torch.load(checkpoint / "agent.pt", weights_only=False)
    del agent["generator"]  # a key this code's agent expects
    torch.save(agent, checkpoint / "agent.pt")
    with pytest.raises(CheckpointError) as caught:
        run(cfg)
    message = str(caught.value)
    assert "checkpoint format 1" in message and f"writes format {checkpoint_module.CHECKPOINT_FORMAT}" in message
    assert "missing keys" in message and "generator" in message and "trainer.resume=false" in message
    assert read_status(Path(cfg.run_dir))["status"] == "failed"


def test_resume_conflicts_name_learning_settings_only():
    base = train_config(["experiment=cartpole", "agent=dqn"])
    assert resume_conflicts(base, base) == []
    watched_differently = train_config(["experiment=cartpole", "agent=dqn", "trainer.total_frames=7777",
                                        "trainer.eval_frames=300", "trainer.log_period_frames=100",
                                        "env.num_threads=1", "logger.tensorboard=false",
                                        "agent.compile=optimizer", "agent.eval_epsilon=0.0"])
    assert resume_conflicts(base, watched_differently) == []
    other_lr = train_config(["experiment=cartpole", "agent=dqn", "agent.optim.lr=5e-4"])
    assert resume_conflicts(base, other_lr) == ["agent.optim.lr: 0.001 in the run, 0.0005 now"]
    other_seed = train_config(["experiment=cartpole", "agent=dqn", "seed=3"])
    assert resume_conflicts(base, other_seed) == ["seed: 0 in the run, 3 now"]
    other_head = train_config(["experiment=cartpole", "agent=qrdqn"])
    conflicts = resume_conflicts(base, other_head)
    assert "agent.name: 'dqn' in the run, 'qrdqn' now" in conflicts
    assert "agent.head.kind: 'expected_value' in the run, 'quantile' now" in conflicts
    assert "agent.head.num_quantiles: absent in the run, 32 now" in conflicts


def test_minatar_and_atari_breakout_share_a_run_dir_but_differ():
    atari = train_config(["agent=dqn", "env.game=breakout"])
    minatar = train_config(["agent=dqn", "env=minatar", "env.game=breakout", "agent.torso=minatar_cnn"])
    assert atari.run_dir == minatar.run_dir
    assert "env.kind: 'atari' in the run, 'minatar' now" in resume_conflicts(atari, minatar)


def test_resuming_under_other_learning_settings_fails_before_anything_is_built(tmp_path: Path, monkeypatch):
    first = train_config([*CARTPOLE, "agent=dqn", "trainer.total_frames=1000", f"runs_root={tmp_path}"])
    assert run(first) == "done"
    run_dir = Path(first.run_dir)
    before = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*")}
    changed = train_config([*CARTPOLE, "agent=dqn", "trainer.total_frames=1500", "agent.gamma=0.9",
                            f"runs_root={tmp_path}"])
    monkeypatch.setattr("training.loop.build_env", lambda *a, **k: pytest.fail("env built before the check"))
    with pytest.raises(ConfigError) as caught:
        run(changed)
    message = str(caught.value)
    assert "agent.gamma: 0.99 in the run, 0.9 now" in message
    assert "experiment_name=" in message and "trainer.resume=false" in message
    assert {p: p.stat().st_mtime_ns for p in run_dir.rglob("*")} == before  # nothing written
    assert read_status(run_dir)["status"] == "done"


def test_a_resumed_run_checkpoints_on_its_period_not_at_once(tmp_path: Path):
    """The checkpoint records its own frames as the last checkpoint's, so the resumed run's next one comes a
    whole period later (not one step after the resume)."""
    first = train_config([*CARTPOLE, "agent=dqn", "trainer.total_frames=1000", f"runs_root={tmp_path}"])
    assert run(first) == "done"
    more = train_config([*CARTPOLE, "agent=dqn", "trainer.total_frames=2500", "trainer.keep_checkpoints=10",
                         f"runs_root={tmp_path}"])
    assert run(more) == "done"
    names = [path.name for path in list_checkpoints(Path(more.run_dir))]
    assert names == ["step-0000000001000", "step-0000000002000", "step-0000000002500"]
