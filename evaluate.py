"""Score a run's latest checkpoint: `python evaluate.py run_dir=<run dir> eval_frames=500000`.

Plays one evaluation phase under the run's own env and protocol (108k-frame cap on Atari) with the
agent's evaluation ε: `eval_frames` frames (default: the run's `trainer.eval_frames`), scoring the
episodes that complete within them (training/evaluation.py). Writes `<run dir>/eval/eval-<frames>.json`
with per-episode raw scores, their mean and the human-normalized score.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig, OmegaConf

from training.checkpoint import CheckpointError
from training.config import EvaluateConfig, register_configs
from training.scoring import evaluate_run

register_configs()


@hydra.main(version_base="1.3", config_path="configs", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    config: EvaluateConfig = OmegaConf.to_object(cfg)
    try:
        path, summary = evaluate_run(config)
    except (FileNotFoundError, ValueError, CheckpointError) as error:
        print(f"evaluate: {error}", file=sys.stderr)
        sys.exit(2)
    if summary["incomplete"]:
        print(f"no episode completed within {summary['eval_frames']} frames: return so far "
              f"{summary['mean_return']:.2f} (raise eval_frames) -> {path}", file=sys.stderr)
    else:
        print(f"mean return {summary['mean_return']:.2f} over {summary['episodes']} episodes -> {path}")


if __name__ == "__main__":
    main()
