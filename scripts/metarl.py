"""The meta-RL study: a recurrent actor-critic that learns to learn (Wang et al. 2018, Nat. Neurosci.; 2016).

    python scripts/metarl.py train task=TASK [key=value ...]
    python scripts/metarl.py figures --out DIR [key=value ...]

`train` meta-trains the LSTM actor-critic on one task run (bandit_independent, bandit_dependent, two_step or
harlow) into {runs_root}/{task}/seed{seed}, with checkpoints, resume, metrics.jsonl and TensorBoard
(neuro/metarl/training.py). `figures` loads the four trained runs with frozen weights, plays fresh tasks,
runs the baselines and analyses (neuro/metarl/study.py) and writes bandits.png, two_step.png, harlow.png,
decoding.png and metarl.json (every number shown) to DIR. Settings: configs/neuro/metarl.yaml, as key=value.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from neuro.cli import parse_study_args, study_parser
from neuro.metarl.config import load_metarl_config


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = study_parser(__doc__, ("train", "figures"), "metarl", out_help="figures: output directory")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    return parse_study_args(parser, argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    cfg = load_metarl_config(args.overrides)
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        if args.command == "train":
            from neuro.metarl.training import train

            started = time.perf_counter()
            run_dir = train(cfg, cfg.task)
            print(f"{run_dir} ({time.perf_counter() - started:.0f} s)")
            return 0
        from neuro.metarl.figures import write_study
        from neuro.metarl.study import metarl_study

        study = metarl_study(cfg)
        for line in study["summary_lines"]:
            print(line)
        args.out.mkdir(parents=True, exist_ok=True)
        for path in write_study(study, args.out, cfg.dpi):
            print(path)
        return 0
    finally:
        torch.set_num_threads(threads)


if __name__ == "__main__":
    sys.exit(main())
