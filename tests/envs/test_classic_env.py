"""ClassicEnv: CartPole behind the VectorEnv contract (shapes, NEXT_STEP first flag, truncation, seeds)."""

import numpy as np
import pytest

from envs import ClassicEnv, EnvConfig, VectorEnv, build_env


def test_shapes_and_options():
    env = ClassicEnv("CartPole-v1", 3, seed=0)
    try:
        assert isinstance(env, VectorEnv)
        assert (env.num_actions, env.frame_shape, env.stack, env.frames_per_step) == (2, (4,), 1, 1)
        obs = env.reset()
        assert obs.shape == (3, 1, 4) and obs.dtype == np.float32
        step = env.step(np.zeros(3, dtype=np.int64))
        assert step.obs.shape == (3, 1, 4) and step.obs.dtype == np.float32
        assert step.reward.dtype == np.float32 and step.reward.shape == (3,)
        assert step.lives is None and not step.first.any()
        assert env.options()["max_episode_steps"] == 500  # CartPole-v1's registered limit
    finally:
        env.close()


def test_termination_then_first():
    env = ClassicEnv("CartPole-v1", 1, seed=0)
    try:
        env.reset()
        for _ in range(100):  # always pushing left drops the pole within a few dozen steps
            step = env.step(np.zeros(1, dtype=np.int64))
            if step.terminated[0]:
                break
        assert step.terminated[0] and not step.truncated[0] and not step.first[0]
        after = env.step(np.zeros(1, dtype=np.int64))
        assert after.first[0] and after.reward[0] == 0.0
        assert not after.terminated[0] and not after.truncated[0]
        assert np.abs(after.obs).max() <= 0.05  # CartPole resets to U(-0.05, 0.05)
        assert not env.step(np.zeros(1, dtype=np.int64)).first[0]
    finally:
        env.close()


def test_time_limit_truncates_then_first():
    env = ClassicEnv("CartPole-v1", 2, seed=0, max_episode_steps=5)
    try:
        env.reset()
        steps = [env.step(np.full(2, t % 2)) for t in range(6)]  # alternating keeps the pole up
        assert all(not s.truncated.any() and not s.first.any() for s in steps[:4])
        assert steps[4].truncated.all() and not steps[4].terminated.any()
        assert steps[5].first.all() and not steps[5].reward.any() and not steps[5].truncated.any()
        assert env.options()["max_episode_steps"] == 5
    finally:
        env.close()


def _trajectory(env: ClassicEnv, seed: int | None) -> np.ndarray:
    obs = [env.reset(seed=seed)]
    rng = np.random.default_rng(0)
    obs += [env.step(rng.integers(0, 2, env.num_envs)).obs for _ in range(60)]
    return np.stack(obs)


def test_seeded_runs_reproduce():
    a, b, c = ClassicEnv(num_envs=2, seed=3), ClassicEnv(num_envs=2), ClassicEnv(num_envs=2)
    try:
        obs_a = _trajectory(a, None)  # constructor seed
        np.testing.assert_array_equal(obs_a, _trajectory(b, 3))
        assert not np.array_equal(obs_a, _trajectory(c, 4))
        np.testing.assert_array_equal(obs_a, _trajectory(a, 3))
        assert not np.array_equal(obs_a[0, 0], obs_a[0, 1])  # envs get different seeds
    finally:
        for env in (a, b, c):
            env.close()


def test_build_env_classic_and_errors():
    env = build_env(EnvConfig(kind="classic", game="cartpole", gym_id="CartPole-v1", num_envs=2), seed=0)
    try:
        assert isinstance(env, ClassicEnv) and env.name == "cartpole" and env.num_envs == 2
    finally:
        env.close()
    env = build_env(EnvConfig(kind="classic", game="cartpole", gym_id="CartPole-v1", num_envs=2), num_envs=4)
    assert env.num_envs == 4
    env.close()
    with pytest.raises(ValueError, match="unknown env kind 'mujoco'; valid: atari, classic, minatar"):
        build_env(EnvConfig(kind="mujoco"))
    with pytest.raises(ValueError, match="needs gym_id"):
        build_env(EnvConfig(kind="classic", game="cartpole"))
    with pytest.raises(ValueError, match="did you mean: CartPole-v1"):
        ClassicEnv("CartPole-v7")
