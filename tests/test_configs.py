"""Every agent × env × protocol composes into the typed schema; bad names fail with the choices."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException

from tests.conftest import compose_train, train_config
from training.config import TrainConfig

AGENTS = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "configs" / "agent").glob("*.yaml"))


def test_agent_configs_present():
    assert "dqn" in AGENTS


@pytest.mark.parametrize("agent", AGENTS)
@pytest.mark.parametrize("protocol", ["dqn_zoo", "machado"])
def test_every_agent_and_protocol_composes(agent: str, protocol: str):
    cfg = train_config([f"agent={agent}", f"env/protocol={protocol}"])
    assert isinstance(cfg, TrainConfig)
    assert cfg.agent.name == agent
    assert cfg.env.protocol.name == protocol
    assert cfg.run_dir == f"runs/default/{agent}/breakout/seed0"


def test_protocols_pin_the_published_settings():
    zoo = train_config(["env/protocol=dqn_zoo"]).env.protocol
    assert (zoo.sticky_action_prob, zoo.noop_max, zoo.full_action_space, zoo.max_episode_frames) == (
        0.0, 30, False, 108_000)
    machado = train_config(["env/protocol=machado"]).env.protocol
    assert (machado.sticky_action_prob, machado.noop_max, machado.full_action_space) == (0.25, 0, True)


def test_dqn_units_and_paper_values():
    agent = train_config(["agent=dqn"]).agent
    assert agent.target_update_period_steps == 10_000  # 40k frames
    assert agent.train_period_steps == 4
    assert agent.optim.lr == pytest.approx(2.5e-4)
    assert agent.eval_epsilon == pytest.approx(0.05)


def test_cartpole_and_quickstart_compose_with_config_only_run_dir():
    cfg = train_config(["experiment=quickstart", "env=cartpole", "seed=3"])
    assert cfg.env.kind == "classic" and cfg.agent.torso == "mlp"
    assert cfg.run_dir == "runs/quickstart/dqn/cartpole/seed3"
    hydra_cfg = compose_train(["experiment=quickstart", "seed=3"], return_hydra_config=True)
    assert hydra_cfg.hydra.run.dir == "runs/quickstart/dqn/breakout/seed3"


def test_unknown_agent_lists_valid_choices():
    with pytest.raises(ConfigCompositionException) as error:
        compose_train(["agent=dqnn"])
    message = str(error.value) + str(error.value.__cause__)
    assert "dqn" in message and "Available options" in message


def test_unknown_key_and_wrong_type_fail():
    with pytest.raises(ConfigCompositionException) as error:
        compose_train(["agent.learning_rate=0.1"])
    assert "agent.learning_rate" in str(error.value)
    with pytest.raises(ConfigCompositionException):
        compose_train(["agent.batch_size=many"])
