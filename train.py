"""Train an agent: `python train.py agent=iqn env.game=breakout seed=3`; sweep with `-m` (README "Sweeps").

Hydra composes `configs/train.yaml` into the typed schema of `training/config.py`; the run lives in
`runs/{experiment}/{agent}/{game}/seed{seed}` and resumes from its newest checkpoint when restarted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from training.config import TrainConfig, register_configs
from training.loop import run
from training.overrides import check_overrides
from training.rundir import RunDirError, remove_unused_run_dir
from training.sweep import finish_sweep, run_sweep_job
from training.validation import ConfigError

register_configs()


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> str:
    config: TrainConfig = OmegaConf.to_object(cfg)
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        return run_sweep_job(config)  # one job of `-m`: never raises, so the other jobs are still summarised
    try:
        status = run(config)
    except (ConfigError, RunDirError) as error:
        remove_unused_run_dir(Path(config.run_dir), Path(config.runs_root))
        print(f"config error: {error}", file=sys.stderr)
        sys.exit(2)
    if status != "done":
        print(f"run stopped: {status}", file=sys.stderr)
    return status


if __name__ == "__main__":
    try:
        check_overrides(sys.argv[1:])  # a misspelt key fails here with a "did you mean", before Hydra starts
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        sys.exit(2)
    try:
        main()
    finally:
        exit_status = finish_sweep()  # a multirun: print each job's status; 1 if any job is not done
    sys.exit(exit_status)
