"""An evaluation phase is bounded in frames: it stops within one vector step of its budget, scores the
episodes that completed, and flags a phase in which none did."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from envs import build_env
from tests.conftest import train_config
from tests.training.shared import CARTPOLE
from training.evaluation import run_evaluation
from training.logging import MetricLogger, read_metrics
from training.loop import Trainer
from training.validation import ConfigError, validate_config


class AlwaysLeft:
    """Pushes every cart left: CartPole episodes end after about 10 steps, each step rewarded 1."""

    def act(self, obs: torch.Tensor, epsilon: float) -> torch.Tensor:
        return torch.zeros(obs.shape[0], dtype=torch.int64)


@pytest.fixture
def cartpole():
    env = build_env(train_config(["experiment=cartpole"]).env, num_envs=4, seed=0)
    yield env
    env.close()


def test_phase_stops_within_one_vector_step_of_its_budget_and_scores_completed_episodes(cartpole) -> None:
    result = run_evaluation(AlwaysLeft(), cartpole, epsilon=0.0, budget_frames=203, device=torch.device("cpu"), seed=0)
    assert result.frames_played == 204  # 51 vector steps of 4 frames: the first to reach the budget
    assert not result.incomplete and result.completed_episodes == len(result.returns) >= 4
    assert result.returns == [float(frames) for frames in result.frames]  # reward 1 a frame: whole episodes
    assert sum(result.frames) < result.frames_played  # the episodes still running at the end are dropped

    again = run_evaluation(AlwaysLeft(), cartpole, epsilon=0.0, budget_frames=203, device=torch.device("cpu"), seed=0)
    assert again == result  # each phase starts from a reset with its seed


def test_phase_without_a_completed_episode_reports_the_unfinished_ones_and_says_so(cartpole) -> None:
    result = run_evaluation(AlwaysLeft(), cartpole, epsilon=0.0, budget_frames=8, device=torch.device("cpu"), seed=0)
    assert result.frames_played == 8 and result.incomplete and result.completed_episodes == 0
    assert result.returns == [2.0] * 4 and result.frames == [2] * 4


def test_trainer_logs_an_incomplete_phase(tmp_path: Path) -> None:
    cfg = train_config([*CARTPOLE, "agent=dqn", "trainer.eval_frames=4", f"runs_root={tmp_path}"])
    trainer = Trainer(cfg)
    logger = MetricLogger(Path(cfg.run_dir), tensorboard=False)
    try:
        values = trainer.evaluate(logger)
    finally:
        logger.close()
        trainer.env.close()
        trainer.eval_env.close()
    assert values["eval/incomplete"] == 1.0 and values["eval/episodes"] == 0.0
    assert values["eval/return"] == 1.0  # one step of each of the 4 eval envs
    (record,) = [r for r in read_metrics(Path(cfg.run_dir)) if "eval/return" in r]
    assert record["eval/incomplete"] == 1.0


@pytest.mark.parametrize("value", [0, -1])
def test_a_budget_below_one_frame_fails_before_any_work(value: int) -> None:
    with pytest.raises(ConfigError, match=f"trainer.eval_frames must be > 0, got {value}"):
        validate_config(train_config(["experiment=cartpole", f"trainer.eval_frames={value}"]))
    with pytest.raises(ValueError, match="evaluation budget"):
        run_evaluation(AlwaysLeft(), None, epsilon=0.0, budget_frames=value, device=torch.device("cpu"))

