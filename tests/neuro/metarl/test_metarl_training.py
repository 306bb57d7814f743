"""Meta-training: a short learning test, checkpoint/resume, the run's files, and config errors.

The learning test: dependent-arm bandits of 20 trials, 16 envs, Adam lr 2e-2, 2400 episodes (150 updates
of 20-step rollouts; measured 35 s on a core shared with three other processes). The frozen agent, on 400
new bandits, must earn ≥ 0.58 reward per trial (measured 0.625), where a fixed 50/50 policy earns 0.5 (SE
0.006 over those 8000 pulls) and the better arm 0.75 in expectation: it can only do so by adapting within
each episode from its own actions and rewards.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from neuro.metarl.config import load_metarl_config
from neuro.metarl.rollout import play_episodes
from neuro.metarl.training import entropy_coef, load_model, run_dir_of, train
from training.checkpoint import list_checkpoints


def _quiet_train(cfg, task):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train(cfg, task, progress=False)
    finally:
        torch.set_num_threads(threads)


def test_agent_learns_to_adapt_within_an_episode(tmp_path) -> None:
    cfg = load_metarl_config([
        "task=bandit_dependent", f"runs_root={tmp_path}", "bandit_trials=20", "agent.learning_rate=2e-2",
        "agent.num_envs=16", "tasks.bandit_dependent.episodes=2400", "tasks.bandit_dependent.rollout_steps=20",
        "tensorboard=false", "log_every_updates=50", "checkpoint_every_updates=1000",
    ])
    _quiet_train(cfg, "bandit_dependent")
    model, trainer = load_model(cfg, "bandit_dependent")
    assert trainer["episodes"] == 2400
    played = play_episodes(model, "bandit_dependent", cfg, episodes=400, seed=123_456)
    reward_per_trial = played["rewards"].mean()
    assert reward_per_trial >= 0.58, f"frozen agent earns {reward_per_trial:.3f} per trial; 50/50 earns 0.5"


def test_checkpoint_resume_and_run_files(tmp_path) -> None:
    overrides = ["task=two_step", f"runs_root={tmp_path}", "two_step_trials=5", "agent.num_envs=4",
                 "agent.hidden_size=8", "tasks.two_step.rollout_steps=10", "log_every_updates=1",
                 "checkpoint_every_updates=2"]
    cfg = load_metarl_config([*overrides, "tasks.two_step.episodes=12"])
    run_dir = _quiet_train(cfg, "two_step")
    assert run_dir == run_dir_of(cfg, "two_step") and (run_dir / "tb").is_dir() and (run_dir / "config.yaml").exists()
    assert json.loads((run_dir / "status.json").read_text())["status"] == "done"
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["frames"] for r in records] == [40, 80, 120]  # one update = 10 steps × 4 envs
    assert {"train/episode_return", "loss/policy_loss", "loss/value_loss", "agent/entropy"} <= set(records[-1])
    first = load_model(cfg, "two_step")[0].state_dict()
    cfg_more = load_metarl_config([*overrides, "tasks.two_step.episodes=20"])
    _quiet_train(cfg_more, "two_step")
    model, trainer = load_model(cfg_more, "two_step")
    assert trainer["episodes"] == 20 and trainer["updates"] == 5
    assert not all(torch.equal(first[k], v) for k, v in model.state_dict().items())
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["frames"] for r in records] == [40, 80, 120, 160, 200]
    assert len(list_checkpoints(run_dir)) == 2


def test_frozen_model_has_no_gradients_and_missing_runs_name_the_command(tmp_path) -> None:
    cfg = load_metarl_config([f"runs_root={tmp_path}"])
    with pytest.raises(FileNotFoundError, match="scripts/metarl.py train task=harlow"):
        load_model(cfg, "harlow")


def test_entropy_anneal() -> None:
    assert entropy_coef(0.05, 0.0, 0, 100) == 0.05
    assert entropy_coef(0.05, 0.0, 50, 100) == pytest.approx(0.025)
    assert entropy_coef(0.05, 0.0, 200, 100) == 0.0


@pytest.mark.parametrize(("override", "message"), [
    ("task=maze", "task must be one of bandit_independent, bandit_dependent, two_step, harlow; got 'maze'"),
    ("agent.learning_rate=0", "agent.learning_rate must be > 0; got 0"),
    ("tasks.harlow.gamma=1.5", r"tasks.harlow.gamma must be in \[0, 1\]; got 1.5"),
    ("evaluation.gittins_discount=1.0", r"evaluation.gittins_discount must be in \[0, 1\); got 1.0"),
])
def test_bad_config_values_fail_naming_them(override: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_metarl_config([override])


def test_unknown_key_fails() -> None:
    with pytest.raises(Exception, match="nope"):
        load_metarl_config(["agent.nope=1"])


def test_play_episodes_shapes_and_deltas(tmp_path) -> None:
    cfg = load_metarl_config([f"runs_root={tmp_path}", "agent.hidden_size=8"])
    from neuro.metarl.training import build_model

    model = build_model(cfg, "harlow")
    played = play_episodes(model, "harlow", cfg, episodes=7, seed=0, batch_size=4)
    assert played["actions"].shape == (7, 12) and played["hidden"].shape == (7, 12, 8)
    assert played["policy"].shape == (7, 12, 2) and len(played["infos"]) == 7
    v, r = played["values"], played["rewards"]
    np.testing.assert_allclose(played["deltas"][:, :-1], r[:, :-1] + 0.9 * v[:, 1:] - v[:, :-1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(played["deltas"][:, -1], r[:, -1] - v[:, -1], rtol=1e-5, atol=1e-6)
