"""MinAtarEnv: the five games behind the VectorEnv contract (shapes, seeds, autoreset, names, exact resume),
the MinAtar torsos under every head, and a short training run that resumes on the same trajectory."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import pkgutil
from pathlib import Path

import numpy as np
import pytest
import torch

from agents import TORSOS, build_agent
from envs import EnvConfig, MinAtarConfig, MinAtarEnv, VectorEnv, build_env
from envs.base import env_seeds
from envs.minatar import GAMES
from tests.conftest import train_config
from training.validation import ConfigError, validate_config

# Channels per game: the package's state_shape() (Dopamine's minatar_env.py pins the same).
CHANNELS = {"asterix": 4, "breakout": 4, "freeway": 7, "seaquest": 10, "space_invaders": 6}
AGENTS = sorted(p.stem for p in (Path(__file__).parents[2] / "configs" / "agent").glob("*.yaml"))


@pytest.fixture(autouse=True)
def one_torch_thread():
    """MinAtar's 10x10 convolutions run best on one thread (a second only adds synchronisation); the
    trainer sets the process's threads too (`trainer.torch_threads`), so the other tests get theirs back."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _random_steps(env: MinAtarEnv, num_steps: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [env.step(rng.integers(0, env.num_actions, env.num_envs)) for _ in range(num_steps)]


def test_games_are_the_packages():
    spec = importlib.util.find_spec("minatar")
    modules = pkgutil.iter_modules([str(Path(spec.submodule_search_locations[0]) / "environments")])
    assert set(GAMES) == {m.name for m in modules}


@pytest.mark.parametrize("game", GAMES)
def test_shapes_dtype_and_frames_match_the_package(game: str):
    """obs [E, 1, C, 10, 10] uint8 in {0, 1}; env 0's frames are the package's state() transposed, step by step."""
    from minatar import Environment

    env = MinAtarEnv(game, 2, seed=3)
    assert isinstance(env, VectorEnv)
    channels = CHANNELS[game]
    assert (env.num_actions, env.frame_shape, env.stack, env.frames_per_step) == (6, (channels, 10, 10), 1, 1)
    assert env.frame_dtype == np.uint8
    reference = Environment(game)  # the package's defaults: sticky 0.1, ramping on
    reference.seed(int(env_seeds(3, 2)[0]))
    reference.reset()
    obs = env.reset()
    assert obs.shape == (2, 1, channels, 10, 10) and obs.dtype == np.uint8 and set(np.unique(obs)) <= {0, 1}
    np.testing.assert_array_equal(obs[0, 0], reference.state().transpose(2, 0, 1))
    rng = np.random.default_rng(0)
    for _ in range(30):
        actions = rng.integers(0, 6, 2)
        step = env.step(actions)
        if step.first[0] or step.terminated[0]:
            break
        reward, terminal = reference.act(int(actions[0]))
        assert step.obs.shape == (2, 1, channels, 10, 10) and step.obs.dtype == np.uint8
        assert step.reward.dtype == np.float32 and step.lives is None and not step.truncated.any()
        assert (step.reward[0], step.terminated[0]) == (reward, terminal)
        np.testing.assert_array_equal(step.obs[0, 0], reference.state().transpose(2, 0, 1))


def test_minimal_action_set():
    env = MinAtarEnv("breakout", minimal_action_set=True, seed=0)
    assert env.num_actions == 3  # no-op, left, right
    env.reset()
    with pytest.raises(ValueError, match=r"actions must be in \[0, 3\)"):
        env.step(np.array([3]))


def _trajectory(env: MinAtarEnv, seed: int | None) -> np.ndarray:
    frames = [env.reset(seed=seed)]
    frames += [step.obs for step in _random_steps(env, 200)]
    return np.stack(frames)


def test_same_seed_same_trajectory_another_seed_another():
    a, b, c = MinAtarEnv("asterix", 2, seed=5), MinAtarEnv("asterix", 2), MinAtarEnv("asterix", 2)
    frames = _trajectory(a, None)  # the constructor's seed
    np.testing.assert_array_equal(frames, _trajectory(b, 5))
    assert not np.array_equal(frames, _trajectory(c, 6))
    np.testing.assert_array_equal(frames, _trajectory(a, 5))  # a seeded reset starts afresh
    assert not np.array_equal(frames[:, 0], frames[:, 1])  # the envs get different seeds


@pytest.mark.parametrize("game", GAMES)
def test_every_game_ends_by_game_over_then_autoresets(game: str):
    """Random play reaches a game over (terminated, never truncated); the next step ignores its action and
    starts the new episode (first, reward 0); the step after is an ordinary one."""
    env = MinAtarEnv(game, seed=1)
    env.reset()
    rng = np.random.default_rng(1)
    for _ in range(3000):  # Freeway ends after 2500 frames; the others within a few hundred under random play
        step = env.step(rng.integers(0, 6, 1))
        assert not step.truncated[0] and not step.first[0]
        if step.terminated[0]:
            break
    assert step.terminated[0]
    twin = MinAtarEnv(game)
    twin.load_state_dict(env.state_dict())
    after, twin_after = env.step(np.array([0])), twin.step(np.array([5]))
    assert after.first[0] and after.reward[0] == 0.0 and not after.terminated[0] and not after.truncated[0]
    np.testing.assert_array_equal(after.obs, twin_after.obs)  # the action was ignored
    assert not env.step(np.array([0])).first[0]


def test_state_dict_resumes_the_same_trajectory():
    env = MinAtarEnv("seaquest", 3, seed=2)
    env.reset()
    _random_steps(env, 150, seed=7)
    state = env.state_dict()
    straight = _random_steps(env, 300, seed=8)
    resumed_env = MinAtarEnv("seaquest", 3, seed=99)
    resumed_env.load_state_dict(state)
    resumed = _random_steps(resumed_env, 300, seed=8)
    assert any(s.terminated.any() for s in straight)  # the window crosses episode ends and autoresets
    for a, b in zip(straight, resumed, strict=True):
        for field in ("obs", "reward", "terminated", "truncated", "first"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    with pytest.raises(ValueError, match="game 'seaquest', this env plays 'asterix'"):
        MinAtarEnv("asterix", 3).load_state_dict(state)
    with pytest.raises(ValueError, match="holds 3 envs, this env has 2"):
        MinAtarEnv("seaquest", 2).load_state_dict(state)
    with pytest.raises(ValueError, match=r"saved with minatar 1.0.10, minatar 1\.\d+\.\d+ is installed"):
        MinAtarEnv("seaquest", 3).load_state_dict({**state, "minatar_version": "1.0.10"})


def test_bad_game_names_fail_with_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown MinAtar game 'breakuot'; did you mean: breakout\? \(valid: "
                                         r"asterix, breakout, freeway, seaquest, space_invaders\)"):
        MinAtarEnv("breakuot")
    with pytest.raises(ValueError, match=r"unknown MinAtar game 'pong' \(valid: asterix, breakout"):
        build_env(EnvConfig(kind="minatar", game="pong"))
    with pytest.raises(ConfigError, match="env.game: unknown MinAtar game 'spaceinvaders'; did you mean: space_inv"):
        validate_config(train_config(["env=minatar", "env.game=spaceinvaders", "agent.torso=minatar_cnn"]))
    with pytest.raises(ConfigError, match=r"env.minatar.sticky_action_prob must be in \[0, 1\], got 1.5"):
        validate_config(train_config(["env=minatar", "env.minatar.sticky_action_prob=1.5", "agent.torso=minatar_cnn"]))
    with pytest.raises(ConfigError, match="agent.torso: 'nature_cnn' needs 84x84 frames"):
        validate_config(train_config(["env=minatar"]))
    with pytest.raises(ValueError, match=r"sticky_action_prob must be in \[0, 1\]"):
        MinAtarEnv("breakout", sticky_action_prob=-0.1)


def test_config_and_options_record_the_package_defaults_and_version():
    cfg = train_config(["env=minatar", "env.game=freeway", "agent.torso=minatar_cnn"])
    assert (cfg.env.kind, cfg.env.game, cfg.env.minatar) == ("minatar", "freeway", MinAtarConfig(0.1, True, False))
    env = build_env(cfg.env, seed=0)
    assert isinstance(env, MinAtarEnv) and env.num_envs == cfg.env.num_envs
    options = json.loads(json.dumps(env.options()))
    assert options["minatar_version"] == importlib.metadata.version("minatar")
    assert (options["sticky_action_prob"], options["difficulty_ramping"], options["minimal_action_set"]) == (
        0.1, True, False)
    assert (options["frames_per_step"], options["max_episode_steps"], options["frame_shape"]) == (1, None, [7, 10, 10])
    assert build_env(cfg.env, num_envs=3).num_envs == 3


@pytest.mark.parametrize(("torso", "features"), [("minatar_cnn", 16 * 8 * 8), ("minatar_rr_cnn", 16 * 10 * 10)])
def test_minatar_torsos_under_every_head(torso: str, features: int):
    """Young & Tian's torso (unpadded, F = 1024) and Revisiting Rainbow's ('SAME', F = 1600) give [B, F]
    features; every agent's head builds on top and acts on uint8 frames."""
    obs = torch.randint(0, 2, (5, 1, 10, 10, 10), dtype=torch.uint8)
    for agent_name in AGENTS:
        cfg = train_config([f"agent={agent_name}", "env=minatar", f"agent.torso={torso}", "agent.head.hidden=16"])
        net = TORSOS[torso](cfg.agent, (1, 10, 10, 10), torch.device("cpu"))
        assert net.out_features == features and net(obs).shape == (5, features)
        agent = build_agent(cfg.agent, (1, 10, 10, 10), 6, "cpu", seed=0)
        assert agent.predict(obs).q_values().shape == (5, 6), agent_name
        assert agent.act(obs, 0.0).shape == (5,), agent_name
    rr_cfg = train_config(["agent=dqn", "experiment=minatar_rr"])
    rr = build_agent(rr_cfg.agent, (1, 4, 10, 10), 6, "cpu", seed=0).online.torso
    assert not rr.conv.bias.any()  # experiment=minatar_rr: flax's zero bias; Glorot bound sqrt(6 / (9·4 + 9·16))
    assert rr.conv.weight.abs().max() <= (6 / (9 * 4 + 9 * 16)) ** 0.5
    with pytest.raises(ValueError, match=r"needs obs_shape \(S, C, H, W\)"):
        TORSOS[torso](cfg.agent, (4, 84, 84), torch.device("cpu"))


TINY = [
    "env=minatar",
    "env.game=breakout",
    "env.eval_num_envs=2",
    "agent=qrdqn",
    "agent.torso=minatar_cnn",
    "agent.head.hidden=32",
    "agent.head.num_quantiles=8",
    "agent.warmup_steps=100",
    "agent.target_update_period_steps=100",
    "agent.epsilon.decay_steps=200",
    "replay.capacity=1000",
    "trainer.eval_frames=200",
    "trainer.checkpoint_period_frames=300",
    "trainer.eval_period_frames=300",
    "trainer.log_period_frames=100",
    "trainer.progress=false",
    "logger.tensorboard=false",
    "trainer.torch_threads=1",
    "seed=3",
]


def test_tiny_training_run_checkpoints_and_resumes_the_same_trajectory(tmp_path: Path):
    """600 frames straight == 300 frames, stop, resume, 300 more: same parameters, replay and returns."""
    from tests.training.shared import assert_same
    from training.checkpoint import latest_checkpoint
    from training.logging import read_metrics
    from training.loop import Trainer, run
    from training.rundir import read_status

    straight = train_config([*TINY, "trainer.total_frames=600", f"runs_root={tmp_path / 'straight'}"])
    first_half = train_config([*TINY, "trainer.total_frames=300", f"runs_root={tmp_path / 'resumed'}"])
    second_half = train_config([*TINY, "trainer.total_frames=600", f"runs_root={tmp_path / 'resumed'}"])
    a = Trainer(straight)
    assert a.train() == "done" and a.frames == 600 and a.counters.updates > 0
    assert run(first_half) == "done"
    assert latest_checkpoint(Path(first_half.run_dir)) is not None
    b = Trainer(second_half)
    assert b.train() == "done"
    assert read_status(Path(second_half.run_dir))["resumed_from"].endswith("step-0000000000300")
    assert_same(a.agent.state_dict(), b.agent.state_dict(), "agent")
    assert_same(a.replay.state_dict(), b.replay.state_dict(), "replay")
    returns = [[r["train/episode_return"] for r in read_metrics(Path(c.run_dir)) if "train/episode_return" in r]
               for c in (straight, second_half)]
    assert returns[0] and returns[0] == returns[1]
    options = json.loads((Path(straight.run_dir) / "env_options.json").read_text())
    assert options["minatar_version"] == importlib.metadata.version("minatar") and options["name"] == "breakout"
