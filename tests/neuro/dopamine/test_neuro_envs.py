"""The two tasks as gymnasium envs, through the framework's ClassicEnv and its configs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from envs import ClassicEnv, build_env
from neuro.dopamine.envs import (
    VARIABLE_MAGNITUDE_ID,
    VARIABLE_PROBABILITY_ID,
    VariableMagnitudeEnv,
    VariableProbabilityEnv,
)
from neuro.dopamine.tasks import VARIABLE_MAGNITUDE
from tests.conftest import train_config

AGENTS = ["dqn", "c51", "qrdqn", "iqn", "fqf", "expectile"]


def test_trial_structure() -> None:
    env = VariableMagnitudeEnv(num_steps=3)
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs, [1, 0, 0])  # the cue
    for phase in (1, 2):
        obs, reward, terminated, truncated, _ = env.step(0)
        np.testing.assert_array_equal(obs, np.eye(3)[phase])
        assert (reward, terminated, truncated) == (0.0, False, False)
    obs, reward, terminated, truncated, _ = env.step(0)
    assert reward in VARIABLE_MAGNITUDE.values and terminated and not truncated and not obs.any()
    np.testing.assert_array_equal(env.observation(env.reward_phase), [0, 0, 1])
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)
    env.reset(seed=1)
    with pytest.raises(ValueError, match="action must be 0"):
        env.step(1)


def test_magnitude_and_probability_frequencies() -> None:
    env = VariableMagnitudeEnv(num_steps=1)
    env.reset(seed=0)
    rewards = []
    for _ in range(20_000):
        rewards.append(env.step(0)[1])
        env.reset()
    frequencies = np.array([np.mean(np.array(rewards) == v) for v in VARIABLE_MAGNITUDE.values])
    np.testing.assert_allclose(frequencies, VARIABLE_MAGNITUDE.probs, atol=0.013)  # ~4 standard errors

    env = VariableProbabilityEnv(num_steps=1)
    outcomes = {0: [], 1: [], 2: []}
    obs, info = env.reset(seed=0)
    for _ in range(30_000):
        assert obs[info["cue"]] == 1 and obs[:3].sum() == 1
        _, reward, terminated, _, info = env.step(0)
        outcomes[info["cue"]].append(reward)
        obs, info = env.reset()
    for cue, probability in enumerate((0.1, 0.5, 0.9)):
        assert len(outcomes[cue]) == pytest.approx(10_000, abs=400)  # cues drawn uniformly
        assert np.mean(outcomes[cue]) == pytest.approx(probability, abs=0.02)


def test_classic_env_builds_the_tasks_by_module_id() -> None:
    for name in ("variable_magnitude", "variable_probability"):
        cfg = train_config([f"env={name}"]).env
        env = build_env(cfg, seed=0)
        try:
            assert env.num_actions == 1 and env.stack == 1
            obs = env.reset()
            assert obs.shape == (1, 1, *env.frame_shape)
            steps = [env.step(np.zeros(1, dtype=np.int64)) for _ in range(3)]
            assert not steps[0].terminated[0] and steps[0].reward[0] == 0.0  # cue -> trace phase
            assert steps[1].terminated[0] and not steps[1].truncated[0]  # the reward ends the trial
            if name == "variable_magnitude":
                assert np.isclose(VARIABLE_MAGNITUDE.values, steps[1].reward[0]).any()  # float32 rewards
            assert steps[2].first[0]  # NEXT_STEP autoreset after the trial
        finally:
            env.close()
    assert VARIABLE_MAGNITUDE_ID in gym.registry and VARIABLE_PROBABILITY_ID in gym.registry
    with pytest.raises(ValueError, match="unknown gymnasium env 'neuro.dopamine.envs:neuro/VariableMagnitud-v0'"):
        ClassicEnv("neuro.dopamine.envs:neuro/VariableMagnitud-v0")
    # A gym_id whose module cannot be imported fails naming the module, not deep inside gymnasium.
    with pytest.raises(ValueError, match="names module 'no_such_package.envs', which cannot be imported"):
        ClassicEnv("no_such_package.envs:neuro/VariableMagnitude-v0")


@pytest.mark.parametrize("agent", AGENTS)
def test_every_agent_composes_with_the_task_envs(agent: str) -> None:
    cfg = train_config([f"agent={agent}", "experiment=variable_magnitude", "seed=2"])
    assert cfg.run_dir == f"runs/default/{agent}/variable_magnitude/seed2"
    assert (cfg.agent.torso, cfg.agent.reward_clip, cfg.env.kind) == ("mlp", None, "classic")
    if cfg.agent.head.kind == "expectile":  # the other heads have no expectiles (each kind has its own keys)
        assert cfg.agent.head.num_expectiles % 2 == 1
