"""Each reproduction preset composes to its reference's values, key by key. The tables are written from the
source files (paths in each comment), independently of the YAML, so that an edit to a preset that leaves its
source fails here."""

from __future__ import annotations

import math

import pytest

from tests.conftest import train_config
from training.validation import validate_config

# google/dopamine: dopamine/jax/agents/*/configs/*.gin, the agents' defaults, networks.py, atari_lib.py,
# run_experiment.py (Runner clip_rewards=True, max_steps_per_episode 27000).
DOPAMINE_COMMON = {
    "env.kind": "atari", "env.protocol.name": "dopamine", "env.protocol.sticky_action_prob": 0.25,
    "env.protocol.noop_max": 0, "env.protocol.full_action_space": False, "env.protocol.max_episode_frames": 108_000,
    "env.protocol.frame_skip": 4, "env.protocol.stack": 4,
    "agent.torso": "nature_cnn_same", "agent.head.hidden": 512, "agent.optim.name": "adam",
    "agent.optim.max_grad_norm": None,
    "agent.gamma": 0.99, "agent.batch_size": 32, "agent.reward_clip": 1.0, "agent.double_q": False,
    "agent.dueling": False, "agent.train_period_steps": 4, "agent.target_update_period_steps": 8000,
    "agent.warmup_steps": 20_000, "agent.epsilon.start": 1.0, "agent.epsilon.end": 0.01,
    "agent.epsilon.decay_steps": 250_000, "agent.eval_epsilon": 0.001, "replay.capacity": 1_000_000,
    "trainer.total_frames": 200_000_000, "experiment_name": "dopamine",
}
DOPAMINE_PER = {"replay.kind": "prioritized", "replay.alpha": 0.5, "replay.beta_start": 0.5, "replay.beta_end": 0.5,
                "replay.priority_eps": 1e-10}
FAN_IN_SQRT3 = {"agent.init.scheme": "variance_scaling", "agent.init.scale": 1 / math.sqrt(3),
                "agent.init.mode": "fan_in"}
DOPAMINE = {
    "dqn": {"agent.head.loss": "mse", "agent.optim.lr": 6.25e-5, "agent.optim.eps": 1.5e-4, "agent.n_step": 1,
            "replay.kind": "uniform", "agent.init.scheme": "variance_scaling", "agent.init.scale": 1.0,
            "agent.init.mode": "fan_avg"},
    "c51": {"agent.head.num_atoms": 51, "agent.head.v_min": -10.0, "agent.head.v_max": 10.0, "agent.optim.lr": 2.5e-4,
            "agent.optim.eps": 3.125e-4, "agent.n_step": 1, "replay.kind": "uniform", **FAN_IN_SQRT3},
    "rainbow": {"agent.head.num_atoms": 51, "agent.head.v_min": -10.0, "agent.head.v_max": 10.0,
                "agent.optim.lr": 6.25e-5, "agent.optim.eps": 1.5e-4, "agent.n_step": 3, **DOPAMINE_PER,
                **FAN_IN_SQRT3},
    "qrdqn": {"agent.head.num_quantiles": 200, "agent.head.kappa": 1.0, "agent.optim.lr": 5e-5,
              "agent.optim.eps": 3.125e-4, "agent.n_step": 3, **DOPAMINE_PER, **FAN_IN_SQRT3,
              # quantile_agent._train_step weights the loss by 1/sqrt(P) only after the gradient step
              "replay.beta_start": 0.0, "replay.beta_end": 0.0},
    "iqn": {"agent.head.num_online_taus": 64, "agent.head.num_target_taus": 64, "agent.head.num_act_taus": 32,
            "agent.head.num_cosines": 64, "agent.head.first_cosine": 1, "agent.head.kappa": 1.0, "agent.optim.lr": 5e-5,
            "agent.optim.eps": 3.125e-4,
            "agent.n_step": 3, "replay.kind": "uniform", **FAN_IN_SQRT3},
}

# JohanSamir/revisiting_rainbow: revisiting_rainbow/Configs/{dqn,quantile,implicit,rainbow}_breakout.gin,
# networks_new.py (net_conf 'minatar'), minatar_env.py, and Dopamine's JaxDQNAgent defaults (ε).
MINATAR_RR_COMMON = {
    "env.kind": "minatar", "env.minatar.sticky_action_prob": 0.1, "env.minatar.difficulty_ramping": True,
    "env.minatar.minimal_action_set": False, "agent.torso": "minatar_rr_cnn", "agent.head.hidden": 0,
    "agent.init.scheme": "variance_scaling", "agent.init.scale": 1.0, "agent.init.mode": "fan_avg",
    "agent.optim.name": "adam", "agent.optim.eps": 3.125e-4, "agent.optim.max_grad_norm": None, "agent.gamma": 0.99,
    "agent.batch_size": 32, "agent.reward_clip": 1.0, "agent.train_period_steps": 4,
    "agent.target_update_period_steps": 1000, "agent.warmup_steps": 1000, "agent.epsilon.start": 1.0,
    "agent.epsilon.end": 0.01, "agent.epsilon.decay_steps": 250_000, "agent.eval_epsilon": 0.001,
    "replay.capacity": 100_000, "trainer.total_frames": 10_000_000, "experiment_name": "minatar_rr",
}
MINATAR_RR = {
    "dqn": {"agent.head.loss": "mse", "agent.optim.lr": 2.5e-4, "agent.n_step": 1, "agent.double_q": False,
            "agent.dueling": False, "replay.kind": "uniform"},
    "c51": {"agent.head.num_atoms": 51, "agent.head.v_min": -100.0, "agent.head.v_max": 100.0, "agent.optim.lr": 1e-4,
            "agent.n_step": 1, "agent.double_q": False, "agent.dueling": False, "replay.kind": "uniform"},
    "qrdqn": {"agent.head.num_quantiles": 51, "agent.head.kappa": 1.0, "agent.optim.lr": 1e-4, "agent.n_step": 1,
              "agent.double_q": False, "agent.dueling": False, "replay.kind": "uniform"},
    "iqn": {"agent.head.num_online_taus": 32, "agent.head.num_target_taus": 32, "agent.head.num_act_taus": 32,
            "agent.head.num_cosines": 64, "agent.head.first_cosine": 1, "agent.head.kappa": 1.0, "agent.optim.lr": 1e-4,
            "agent.n_step": 1,
            "agent.double_q": False, "agent.dueling": False, "replay.kind": "uniform"},
    "rainbow": {"agent.head.num_atoms": 51, "agent.head.v_min": -100.0, "agent.head.v_max": 100.0,
                "agent.optim.lr": 1e-4, "agent.n_step": 3, "agent.double_q": True, "agent.dueling": True,
                # noisy = True: rainbow_agent_new.py passes identity_epsilon (ε = 0) instead of the gin's epsilon_fn
                "agent.epsilon.start": 0.0, "agent.epsilon.end": 0.0, **DOPAMINE_PER},
}

# kenjyoung/MinAtar: examples/dqn.py (constants at its top, QNetwork, world_dynamics, train).
MINATAR_DQN = {
    "env.kind": "minatar", "env.minatar.sticky_action_prob": 0.1, "env.minatar.difficulty_ramping": True,
    "env.minatar.minimal_action_set": False, "agent.torso": "minatar_cnn", "agent.head.hidden": 128,
    "agent.head.loss": "huber", "agent.head.kappa": 1.0, "agent.init.scheme": "torch",
    "agent.optim.name": "rmsprop", "agent.optim.lr": 2.5e-4, "agent.optim.alpha": 0.95, "agent.optim.centered": True,
    "agent.optim.eps": 0.01, "agent.optim.max_grad_norm": None, "agent.gamma": 0.99, "agent.n_step": 1,
    "agent.double_q": False, "agent.dueling": False, "agent.batch_size": 32, "agent.reward_clip": None,
    "agent.train_period_steps": 1, "agent.target_update_period_steps": 1000, "agent.warmup_steps": 5000,
    "agent.epsilon.start": 1.0, "agent.epsilon.end": 0.1, "agent.epsilon.decay_steps": 100_000,
    "replay.kind": "uniform", "replay.capacity": 100_000, "trainer.total_frames": 5_000_000,
    "experiment_name": "minatar",
}

CASES = ([("dopamine", agent, {**DOPAMINE_COMMON, **values}) for agent, values in DOPAMINE.items()]
         + [("minatar_rr", agent, {**MINATAR_RR_COMMON, **values}) for agent, values in MINATAR_RR.items()]
         + [("minatar", "dqn", MINATAR_DQN)])


def _get(cfg: object, dotted: str) -> object:
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


@pytest.mark.parametrize(("experiment", "agent", "expected"), CASES, ids=[f"{e}-{a}" for e, a, _ in CASES])
def test_preset_values_match_their_source(experiment: str, agent: str, expected: dict[str, object]):
    cfg = train_config([f"experiment={experiment}", f"agent={agent}"])
    validate_config(cfg)
    got = {key: _get(cfg, key) for key in expected}
    assert got == expected


def test_minatar_rr_dqn_on_asterix_is_the_one_huber_gin():
    """dqn_asterix.gin alone sets mse_inf = False: the preset keeps MSE and says so; the override is the user's."""
    cfg = train_config(["experiment=minatar_rr", "agent=dqn", "env.game=asterix", "agent.head.loss=huber"])
    assert cfg.agent.head.loss == "huber"


def test_agent_rainbow_alone_is_c51_with_n_step_and_prioritized_replay():
    cfg = train_config(["agent=rainbow"])
    assert (cfg.agent.head.kind, cfg.agent.n_step, cfg.replay.kind) == ("categorical", 3, "prioritized")
    assert (cfg.agent.double_q, cfg.agent.dueling) == (False, False)
    assert train_config(["agent=rainbow", "replay=uniform"]).replay.kind == "uniform"  # the command line wins
    assert train_config(["agent=c51"]).replay.kind == "uniform"
