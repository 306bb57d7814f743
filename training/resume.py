"""What a resumed run may change: how long it runs and how it is watched, never what it learns.

A run dir is named by experiment, agent, game and seed, so two different experiments can meet in one dir
(`env=minatar env.game=breakout` and Atari Breakout under the same `experiment_name`, or an edited
learning rate). Resuming would then continue one run's checkpoint under the other's settings and mix two
experiments in one curve. `resume_conflicts` lists every setting of the agent, replay, env or seed that
differs from the checkpointed run's `config.yaml`; the trainer refuses such a resume before building
anything. The trainer, logger and paths (total frames, evaluation, checkpoint and log periods, device,
threads) may change: they do not alter the learning trajectory's definition.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from training.checkpoint import latest_checkpoint
from training.config import TrainConfig, load_train_config
from training.rundir import CONFIG_FILE
from training.validation import ConfigError

LEARNING_SECTIONS = ("agent", "replay", "env", "seed")
# Settings that change how fast the run goes or how it is evaluated, not what it learns.
MAY_CHANGE = ("env.num_threads", "env.eval_num_envs", "agent.compile", "agent.eval_epsilon")


def _flatten(node: Any, prefix: str) -> dict[str, Any]:
    if isinstance(node, dict):
        flat: dict[str, Any] = {}
        for key, value in node.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: node}


def learning_settings(cfg: TrainConfig) -> dict[str, Any]:
    """The flattened settings that define what a run learns (`LEARNING_SECTIONS` less `MAY_CHANGE`)."""
    container = OmegaConf.to_container(OmegaConf.structured(cfg))
    flat = _flatten({key: container[key] for key in LEARNING_SECTIONS}, "")
    return {key: value for key, value in flat.items() if key not in MAY_CHANGE}


def _shown(settings: dict[str, Any], key: str) -> str:
    return repr(settings[key]) if key in settings else "absent"


def resume_conflicts(saved: TrainConfig, new: TrainConfig) -> list[str]:
    """`key: value in the run, value now` for every learning setting that differs."""
    before, after = learning_settings(saved), learning_settings(new)
    return [f"{key}: {_shown(before, key)} in the run, {_shown(after, key)} now"
            for key in sorted(before.keys() | after.keys())
            if key not in before or key not in after or before[key] != after[key]]


def saved_config(run_dir: Path) -> TrainConfig | None:
    """The typed config a run dir's `config.yaml` holds, or None where there is none."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        return None
    return load_train_config(OmegaConf.load(path))


def check_resume(run_dir: Path, cfg: TrainConfig) -> None:
    """Raise ConfigError when `run_dir` holds a checkpointed run whose learning settings differ from `cfg`."""
    if latest_checkpoint(run_dir) is None:
        return
    saved = saved_config(run_dir)
    if saved is None:
        return
    conflicts = resume_conflicts(saved, cfg)
    if conflicts:
        listed = "\n  ".join(conflicts)
        raise ConfigError(
            f"{run_dir} holds a checkpointed run with other settings; resuming it would mix two experiments:\n"
            f"  {listed}\nSet experiment_name=<name> to start this run in its own directory, or "
            "trainer.resume=false to move the old run aside and start afresh.")
