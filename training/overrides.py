"""Check a `train.py` command line's overrides before Hydra starts, so a misspelt key gets a "did you mean".

Hydra's own message for `trainer.total_frame=1000` suggests `+trainer.total_frame=1000`, which would add the
key and train the default budget; and its message cannot be replaced from inside `@hydra.main` (Hydra prints
it and exits before the task function runs). So train.py composes the config it was given once up front
(as Hydra first composes it: for a multirun, without the swept values) and stops with exit status 2 on a
key no schema knows, with or without `+`, before Hydra makes a run dir. Every other error is left to Hydra
and to `validate_config`, which each run and every job of a sweep pass (the sweep planner also names a
swept job's unknown key).
"""

from __future__ import annotations

from hydra._internal.utils import get_args_parser
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from training.config import compose_config
from training.validation import ConfigError, unknown_keys

# Flags after which the command line is not a training run of configs/train.yaml (Hydra handles them).
_NOT_A_RUN = ("help", "hydra_help", "info", "shell_completion", "experimental_rerun", "config_path", "config_name",
              "config_dir")


def run_overrides(overrides: list[str], multirun: bool, first_job: bool = False) -> list[str] | None:
    """The overrides Hydra composes its first config with, without `hydra` ones: a multirun's drop every
    sweep (Hydra composes the sweep's own config with the defaults of the swept groups before any job), or
    with `first_job` keep each sweep's first value. None when they cannot be read without Hydra's config
    loader (a syntax error, a `glob` sweep: Hydra reports it)."""
    try:
        kept = []
        for override in OverridesParser.create().parse_overrides(overrides):
            if override.key_or_group.split("/")[0].split(".")[0] == "hydra":
                continue
            if not (multirun and override.is_sweep_override()):
                kept.append(override.input_line)
            elif first_job:
                kept.append(f"{override.get_key_element()}={next(iter(override.sweep_string_iterator()))}")
    except Exception:
        return None
    return kept


def check_overrides(arguments: list[str]) -> None:
    """Raise ConfigError naming the first key of `python train.py <arguments>` that no schema knows."""
    try:
        args = get_args_parser().parse_args(arguments)
    except SystemExit:  # a bad flag: Hydra says so itself
        return
    if any(getattr(args, flag) for flag in _NOT_A_RUN):
        return
    overrides = run_overrides(args.overrides, args.multirun)
    if overrides is None:
        return
    try:
        config = OmegaConf.to_object(compose_config(overrides))
    except ConfigError as error:
        first_job = run_overrides(args.overrides, args.multirun, first_job=True)
        if first_job is not None and first_job != overrides and _composes(first_job):
            raise ConfigError(f"{error}. The sweep's first job has the key, but a multirun first composes its "
                              "config without the swept values (with each swept group's default, e.g. agent=dqn): "
                              "give a head's own keys with one agent, or run one sweep per agent") from None
        raise
    except Exception:  # any other composition error: Hydra reports it as usual
        return
    unknown = unknown_keys(config)
    if unknown:
        raise ConfigError(unknown[0])


def _composes(overrides: list[str]) -> bool:
    try:
        compose_config(overrides)
    except Exception:
        return False
    return True
