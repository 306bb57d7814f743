"""The Hydra config tree: every agent × protocol × experiment composes into the typed schema and passes
validation; each agent's head takes only its own keys; experiments reach only the head that has a setting;
unknown names and keys fail before any work with the valid choices ("did you mean")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError

from agents.config import HEAD_CONFIGS, CategoricalHeadConfig, FractionQuantileHeadConfig
from tests.conftest import compose_train, train_config
from training.config import TrainConfig, load_train_config
from training.overrides import check_overrides
from training.validation import ConfigError, validate_config

ROOT = Path(__file__).resolve().parents[1]
AGENTS = sorted(p.stem for p in (ROOT / "configs" / "agent").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (ROOT / "configs" / "experiment").glob("*.yaml"))
AGENT_HEADS = {"dqn": "expected_value", "c51": "categorical", "qrdqn": "quantile", "iqn": "implicit_quantile",
               "fqf": "fraction_quantile", "expectile": "expectile", "rainbow": "categorical"}

# What the classic-control experiments set in agent.head, per agent ("*": every agent); every other head
# value is the agent file's. These are the values the env bundles (env=cartpole ...) gave each head.
EXPERIMENT_HEAD_VALUES = {
    "cartpole": {
        "*": {"hidden": 128},
        "c51": {"v_min": 0.0, "v_max": 100.0},
        "qrdqn": {"num_quantiles": 32},
        "iqn": {"num_online_taus": 8, "num_target_taus": 8, "num_act_taus": 8},
        "fqf": {"num_fractions": 32, "fraction_lr": 1e-7},
    },
    "variable_magnitude": {
        "*": {"hidden": 64},
        "c51": {"v_min": 0.0, "v_max": 25.0},
        "qrdqn": {"num_quantiles": 31},
        "iqn": {"num_online_taus": 16, "num_target_taus": 16, "num_act_taus": 16},
        "fqf": {"num_fractions": 31, "fraction_lr": 1e-5},
        "expectile": {"num_expectiles": 31},
    },
    "variable_probability": {
        "*": {"hidden": 64},
        "c51": {"v_min": -0.5, "v_max": 1.5},
        "qrdqn": {"num_quantiles": 31},
        "iqn": {"num_online_taus": 16, "num_target_taus": 16, "num_act_taus": 16},
        "fqf": {"num_fractions": 31, "fraction_lr": 1e-5},
        "expectile": {"num_expectiles": 31},
    },
}


def test_the_tree_has_every_agent_and_experiment():
    assert sorted(AGENT_HEADS) == AGENTS
    assert set(EXPERIMENT_HEAD_VALUES) < set(EXPERIMENTS)
    assert {"quickstart", "atari5", "atari26", "atari57"} < set(EXPERIMENTS)


PROTOCOLS = sorted(p.stem for p in (ROOT / "configs" / "env" / "protocol").glob("*.yaml"))


@pytest.mark.parametrize(("protocol", "experiment"), [(p, None) for p in PROTOCOLS] + [(None, e) for e in EXPERIMENTS])
@pytest.mark.parametrize("agent", AGENTS)
def test_every_agent_protocol_and_experiment_composes_and_validates(agent: str, protocol: str | None, experiment):
    overrides = [f"agent={agent}"] + ([f"env/protocol={protocol}"] if protocol else [])
    cfg = train_config(overrides + ([f"experiment={experiment}"] if experiment else []))
    assert isinstance(cfg, TrainConfig)
    validate_config(cfg)
    assert cfg.agent.name == agent and (protocol is None or cfg.env.protocol.name == protocol)
    assert type(cfg.agent.head) is HEAD_CONFIGS[AGENT_HEADS[agent]]
    if experiment is None:
        assert cfg.run_dir == f"runs/default/{agent}/breakout/seed0"


@pytest.mark.parametrize("experiment", sorted(EXPERIMENT_HEAD_VALUES))
@pytest.mark.parametrize("agent", AGENTS)
def test_experiments_give_each_head_only_its_own_settings(agent: str, experiment: str):
    head = train_config([f"agent={agent}", f"experiment={experiment}"]).agent.head
    atari_head = train_config([f"agent={agent}"]).agent.head
    values = EXPERIMENT_HEAD_VALUES[experiment]
    expected = {**vars(atari_head), **values["*"], **values.get(agent, {})}
    assert vars(head) == expected
    assert type(head) is type(atari_head)


@pytest.mark.parametrize("experiment", sorted(EXPERIMENT_HEAD_VALUES))
def test_classic_experiments_keep_the_run_dir_and_retune_agent_replay_trainer(experiment: str):
    """experiment_name stays `default`: the README's runs/default/<agent>/<task>/seed0 paths stay true."""
    cfg = train_config([f"experiment={experiment}", "agent=expectile", "seed=3"])
    assert cfg.env.kind == "classic" and cfg.env.game == experiment
    assert cfg.agent.torso == "mlp" and cfg.agent.reward_clip is None and cfg.agent.optim.lr == 1e-3
    assert cfg.run_dir == f"runs/default/expectile/{experiment}/seed3"
    budget = {"cartpole": (100_000, 100_000), "variable_magnitude": (15_000, 20_000),
              "variable_probability": (15_000, 20_000)}[experiment]
    assert (cfg.trainer.total_frames, cfg.replay.capacity) == budget


def test_every_experiment_agent_file_names_an_experiment_and_an_agent():
    """train.yaml merges them with an optional entry: a misnamed file would be skipped without a word."""
    files = sorted((ROOT / "configs" / "experiment_agent").glob("*/*.yaml"))
    assert files
    for path in files:
        assert path.parent.name in EXPERIMENTS and path.stem in AGENTS, path


def test_env_files_describe_only_the_env():
    for path in (ROOT / "configs" / "env").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert "@package" not in text and "agent:" not in text and "trainer:" not in text, path


def test_old_env_spelling_fails_before_any_work_naming_the_experiment():
    cfg = train_config(["env=cartpole"])
    assert cfg.env.game == "cartpole" and cfg.agent.torso == "nature_cnn"
    with pytest.raises(ConfigError, match=r"experiment=cartpole"):
        validate_config(cfg)


def test_quickstart_run_dir_comes_from_the_config():
    hydra_cfg = compose_train(["experiment=quickstart", "seed=3"], return_hydra_config=True)
    assert hydra_cfg.hydra.run.dir == "runs/quickstart/dqn/breakout/seed3"
    assert train_config(["experiment=cartpole", "experiment_name=quickstart", "seed=3"]).run_dir == (
        "runs/quickstart/dqn/cartpole/seed3")


def test_unknown_agent_lists_valid_choices():
    with pytest.raises(ConfigCompositionException) as error:
        compose_train(["agent=dqnn"])
    message = str(error.value) + str(error.value.__cause__)
    assert "Available options" in message and all(agent in message for agent in AGENTS)


def test_wrong_type_fails():
    with pytest.raises(ConfigCompositionException):
        compose_train(["agent.batch_size=many"])


# (override without `+`, what the error must say): a misspelt key, a key of another head, a key nowhere
UNKNOWN_KEYS = [
    (["trainer.total_frame=1000"], ["unknown key 'trainer.total_frame'", "did you mean 'trainer.total_frames'?"]),
    (["agent=qrdqn", "agent.head.num_atoms=11"],
     ["unknown key 'agent.head.num_atoms'", "QuantileHeadConfig", "hidden, kappa, kind, num_quantiles"]),
    (["agent=fqf", "agent.head.num_quantiles=8"], ["did you mean 'agent.head.num_fractions'?"]),
    (["agent.head.bogus=3"], ["unknown key 'agent.head.bogus'", "ExpectedValueHeadConfig", "hidden, kappa, kind"]),
    (["bogus=1"], ["unknown key 'bogus'", "valid keys of the top level", "trainer"]),
    (["agent.learning_rate=0.1"], ["unknown key 'agent.learning_rate'", "AgentConfig"]),
]


@pytest.mark.parametrize("plus", ["", "+"])
@pytest.mark.parametrize(("overrides", "messages"), UNKNOWN_KEYS, ids=lambda v: " ".join(v) if
                         isinstance(v, list) and "=" in v[-1] else None)
def test_unknown_key_with_or_without_plus_fails_with_did_you_mean(overrides, messages, plus: str):
    overrides = [*overrides[:-1], plus + overrides[-1]]
    with pytest.raises(ConfigError) as error:
        if plus:  # `+` adds the key at composition; validation (every run, every sweep job) rejects it
            validate_config(train_config(overrides))
        else:
            compose_train(overrides)
    assert all(message in str(error.value) for message in messages), str(error.value)
    assert "To append" not in str(error.value)
    with pytest.raises(ConfigError) as error:  # train.py's check before Hydra starts
        check_overrides(overrides)
    assert all(message in str(error.value) for message in messages), str(error.value)


def test_check_overrides_leaves_good_and_non_key_errors_to_hydra():
    check_overrides(["agent=iqn", "agent.head.num_act_taus=8", "experiment=cartpole"])
    check_overrides(["-m", "seed=0,1", "agent=c51", "agent.head.v_min=0"])
    check_overrides(["agent=dqnn"])  # Hydra lists the valid agents itself
    check_overrides(["--help"])
    with pytest.raises(ConfigError, match="multirun first composes its config without the swept values"):
        check_overrides(["-m", "agent=c51,qrdqn", "agent.head.v_min=0"])


@pytest.mark.parametrize("override", ["trainer.total_frame=1000", "+trainer.total_frame=1000",
                                      "+agent.head.bogus=3", "+bogus=1"])
def test_train_cli_rejects_unknown_key_with_status_2_and_no_run_dir(tmp_path: Path, override: str):
    runs = tmp_path / "runs"
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), override, f"runs_root={runs}",
                             "trainer.progress=false"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    key = override.lstrip("+").split("=")[0]
    assert f"unknown key '{key}'" in result.stderr and "To append" not in result.stderr
    if key == "trainer.total_frame":
        assert "did you mean 'trainer.total_frames'?" in result.stderr
    assert not runs.exists()


def test_sweep_cli_rejects_a_jobs_unknown_key_before_any_job(tmp_path: Path):
    """kappa is a key of DQN's head (the sweep's own config) but not of C51's: the planner names the job."""
    runs = tmp_path / "runs"
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), "-m", "agent=c51,qrdqn", "agent.head.kappa=0.5",
                             "experiment=cartpole", f"runs_root={runs}"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "sweep job #0 (agent=c51" in result.stderr and "unknown key 'agent.head.kappa'" in result.stderr
    assert not runs.exists()


# A head as every run dir's config.yaml recorded it before the per-kind schemas: one flat record.
FLAT_HEAD = {"kind": "fraction_quantile", "hidden": 128, "num_atoms": 51, "v_min": -10.0, "v_max": 10.0,
             "num_quantiles": 8, "kappa": 1.0, "num_cosines": 64, "num_online_taus": 64, "num_target_taus": 64,
             "num_act_taus": 32, "fraction_lr": 1e-7, "fraction_eps": 1e-5, "entropy_coef": 0.001,
             "num_expectiles": 31}


def test_a_run_config_saved_before_the_per_kind_heads_still_loads():
    saved = OmegaConf.create(OmegaConf.to_container(compose_train(["agent=fqf", "experiment=cartpole"])))
    saved.agent.head = FLAT_HEAD
    head = load_train_config(saved).agent.head
    assert head == FractionQuantileHeadConfig(hidden=128, num_fractions=8, fraction_lr=1e-7, entropy_coef=0.001)
    saved.agent.head = {**FLAT_HEAD, "kind": "categorical"}
    assert load_train_config(saved).agent.head == CategoricalHeadConfig(hidden=128)
    saved.agent.head = {"kind": "quantile", "num_atoms": 5}  # not the old record: a foreign key still fails
    with pytest.raises(ConfigKeyError, match="num_atoms"):
        load_train_config(saved)
    saved.agent.head = {"kind": "rainbow"}
    with pytest.raises(ConfigError, match="unknown head 'rainbow'; valid: categorical"):
        load_train_config(saved)
