"""AtariEnv over ale-py's vector env: every game under both protocols, NEXT_STEP autoreset, truncation,
raw rewards, frame stacking and seeding. Each test pins one fact the trainer and replay rely on."""

import numpy as np
import pytest

import envs.atari
from envs import SUBSETS, AtariEnv, EnvConfig, ProtocolConfig, VecStep, VectorEnv, build_env
from envs.base import env_seeds

PROTOCOLS = {
    "dqn_zoo": ProtocolConfig(name="dqn_zoo", sticky_action_prob=0.0, noop_max=30, full_action_space=False),
    "machado": ProtocolConfig(name="machado", sticky_action_prob=0.25, noop_max=0, full_action_space=True),
}


def make(game: str = "pong", num_envs: int = 1, **kw) -> AtariEnv:
    opts = dict(sticky_action_prob=0.0, noop_max=30, full_action_space=False, max_episode_frames=108_000)
    return AtariEnv(game, num_envs, **(opts | kw))


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("game", SUBSETS["atari57"])
def test_every_game_builds_and_steps(game, protocol):
    env = build_env(EnvConfig(kind="atari", game=game, protocol=PROTOCOLS[protocol]), seed=0)
    try:
        assert isinstance(env, VectorEnv)
        assert (env.stack, env.frames_per_step, env.frame_shape) == (4, 4, (84, 84))
        if protocol == "machado":  # ale-py 0.12's "full" set for skiing (no fire button) has 9 actions
            assert env.num_actions == (9 if game == "skiing" else 18)
        else:
            assert 2 <= env.num_actions <= 18
        obs = env.reset()
        assert obs.shape == (1, 4, 84, 84) and obs.dtype == np.uint8
        assert not obs[:, :3].any()  # zero-padded reset stack
        rng = np.random.default_rng(0)
        for _ in range(4):
            step = env.step(rng.integers(0, env.num_actions, 1))
            assert step.obs.shape == (1, 4, 84, 84) and step.obs.dtype == np.uint8
            assert step.reward.dtype == np.float32 and step.reward.shape == (1,)
            assert step.terminated.dtype == step.truncated.dtype == step.first.dtype == np.bool_
            assert step.lives is not None and step.lives.shape == (1,)
            np.testing.assert_array_equal(step.obs[:, :3], obs[:, 1:])
            obs = step.obs
    finally:
        env.close()


def test_options_pin_everything():
    env = make("pong", 2, sticky_action_prob=0.25, noop_max=0, full_action_space=True, max_episode_frames=500)
    try:
        opts = env.options()
        assert opts["repeat_action_probability"] == 0.25
        assert opts["noop_max"] == 0 and opts["full_action_space"] is True
        assert opts["max_num_frames_per_episode"] == 500
        assert opts["reward_clipping"] is False and opts["episodic_life"] is False
        assert opts["use_fire_reset"] is False and opts["maxpool"] is True and opts["grayscale"] is True
        assert opts["autoreset_mode"] == "NextStep"
        assert (opts["frameskip"], opts["stack_num"], opts["img_height"], opts["img_width"]) == (4, 4, 84, 84)
    finally:
        env.close()


def _run_until(env: AtariEnv, done_field: str, max_steps: int, seed: int = 0) -> tuple[list, np.ndarray]:
    """Step random actions until env 0's `done_field` is set; return the VecSteps and the reset obs."""
    obs = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    steps = []
    for _ in range(max_steps):
        steps.append(env.step(rng.integers(0, env.num_actions, env.num_envs)))
        if getattr(steps[-1], done_field)[0]:
            return steps, obs
    raise AssertionError(f"no {done_field} within {max_steps} steps")


def _check_autoreset(env: AtariEnv, steps: list[VecStep]) -> VecStep:
    """The step after an episode end: reset stack, first, reward 0, not done."""
    after = env.step(np.full(env.num_envs, env.num_actions - 1))
    assert after.first[0] and after.reward[0] == 0.0
    assert not after.terminated[0] and not after.truncated[0]
    assert not after.obs[0, :3].any() and after.obs[0, 3].any()
    assert not any(s.first[0] for s in steps)  # only the autoreset step is first
    return after


def test_frame_cap_truncates_then_autoresets():
    env = make("pong", 2, max_episode_frames=200)
    try:
        steps, obs = _run_until(env, "truncated", 100)
        # 200 frames after the no-op starts = 50 agent steps of 4 frames.
        assert len(steps) == 50
        assert not steps[-1].terminated.any() and steps[-1].truncated.all()
        for step in steps:  # inside an episode consecutive stacks share 3 frames
            np.testing.assert_array_equal(step.obs[:, :3], obs[:, 1:])
            obs = step.obs
        after = _check_autoreset(env, steps)
        assert after.first.all()
        nxt = env.step(np.zeros(2, dtype=np.int64))
        assert not nxt.first.any()
        np.testing.assert_array_equal(nxt.obs[:, :3], after.obs[:, 1:])
    finally:
        env.close()


def test_game_over_terminates_then_autoresets():
    env = make("breakout", 1)
    try:
        steps, _ = _run_until(env, "terminated", 3000)
        assert steps[-1].terminated[0] and not steps[-1].truncated[0] and steps[-1].lives[0] == 0
        after = _check_autoreset(env, steps)
        assert after.lives[0] == 5
    finally:
        env.close()


def test_rewards_are_raw():
    env = make("ms_pacman", 1)  # a pellet is worth 10; random play eats one within ~70 steps
    try:
        env.reset(seed=0)
        rng = np.random.default_rng(0)
        rewards = np.concatenate([env.step(rng.integers(0, env.num_actions, 1)).reward for _ in range(150)])
        assert np.abs(rewards).max() >= 10
    finally:
        env.close()


def _trajectory(env: AtariEnv, seed: int | None, steps: int = 150) -> tuple[np.ndarray, np.ndarray]:
    obs = [env.reset(seed=seed)]
    rewards = []
    rng = np.random.default_rng(123)
    for _ in range(steps):
        s = env.step(rng.integers(0, env.num_actions, env.num_envs))
        obs.append(s.obs)
        rewards.append(s.reward)
    return np.stack(obs), np.stack(rewards)


def test_seeded_runs_reproduce():
    # sticky actions, no-op starts and a short cap (so autoresets happen) all draw from the seeded RNGs
    kw = dict(sticky_action_prob=0.25, noop_max=30, max_episode_frames=300)
    a, b, c = make("breakout", 2, seed=7, **kw), make("breakout", 2, **kw), make("breakout", 2, **kw)
    try:
        obs_a, rew_a = _trajectory(a, None)  # constructor seed
        obs_b, rew_b = _trajectory(b, 7)  # reset seed
        np.testing.assert_array_equal(obs_a, obs_b)
        np.testing.assert_array_equal(rew_a, rew_b)
        obs_c, _ = _trajectory(c, 8)
        assert not np.array_equal(obs_a, obs_c)
        obs_again, _ = _trajectory(a, 7)  # reseeding the same env replays it
        np.testing.assert_array_equal(obs_a, obs_again)
    finally:
        for env in (a, b, c):
            env.close()


def test_env_seeds_do_not_overlap_across_run_seeds():
    s0, s1 = env_seeds(0, 8), env_seeds(1, 8)
    assert len(set(s0) | set(s1)) == 16
    assert s0.min() >= 0 and s0.max() < 2**31
    np.testing.assert_array_equal(s0, env_seeds(0, 8))


def test_unknown_game_fails_before_building_an_emulator(monkeypatch):
    def no_emulator(*args, **kwargs):
        raise AssertionError("an emulator was built")

    monkeypatch.setattr(envs.atari, "AtariVectorEnv", no_emulator)
    with pytest.raises(ValueError, match="did you mean: breakout"):
        make("brekout")
    with pytest.raises(ValueError, match="did you mean: breakout"):
        build_env(EnvConfig(kind="atari", game="brekout"))


@pytest.mark.parametrize(
    "kw", [dict(sticky_action_prob=1.5), dict(noop_max=-1), dict(max_episode_frames=0), dict(frame_skip=0)]
)
def test_bad_options_fail_early(monkeypatch, kw):
    monkeypatch.setattr(envs.atari, "AtariVectorEnv", None)
    with pytest.raises(ValueError):
        make("pong", **kw)


@pytest.mark.parametrize("action", [-1, 6])
def test_out_of_range_action_raises_instead_of_hanging(monkeypatch, action):
    env = make("pong", 2)  # 6 actions in pong's minimal set
    try:
        env.reset(seed=0)

        def no_send(*args, **kwargs):  # ale-py deadlocks on a bad action: it must never see one
            raise AssertionError("the bad action reached ale-py")

        monkeypatch.setattr(env._env, "step", no_send)
        with pytest.raises(ValueError, match=r"actions must be in \[0, 6\)"):
            env.step(np.array([0, action]))
    finally:
        env.close()
