"""Train an agent: `python train.py agent=iqn env.game=breakout seed=3`.

Hydra composes `configs/train.yaml` into the typed schema of `training/config.py`; the run lives in
`runs/{experiment}/{agent}/{game}/seed{seed}` and resumes from its newest checkpoint when restarted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from training.config import TrainConfig, register_configs
from training.loop import run
from training.rundir import remove_unused_run_dir
from training.validation import ConfigError

register_configs()


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> None:
    config: TrainConfig = OmegaConf.to_object(cfg)
    try:
        status = run(config)
    except ConfigError as error:
        remove_unused_run_dir(Path(config.run_dir), Path(config.runs_root))
        print(f"config error: {error}", file=sys.stderr)
        sys.exit(2)
    if status != "done":
        print(f"run stopped: {status}", file=sys.stderr)


if __name__ == "__main__":
    main()
