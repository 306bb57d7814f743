"""Grid-like units from path integration and vector navigation (Banino et al. 2018; Sorscher et al. 2019, 2023).

    python scripts/gridcells.py train --out RUN [--preset cpu|paper] [key=value ...]
    python scripts/gridcells.py figures --out DIR [run_dir=RUN] [--preset cpu|paper] [key=value ...]

`train` trains each network of `models` (banino, sorscher) in RUN/<model> (metrics.jsonl, atomic checkpoints;
a rerun resumes) and writes RUN/train.json (steps, wall-clock, final loss and decoding error). `figures` runs
the pattern formation and the reference navigation and, with run_dir=RUN, analyses the trained networks (rate
maps, autocorrelograms, gridness against each unit's shuffle null, decoding error against path length,
navigation from their codes); it writes rate_maps.png, gridness.png, decoding_error.png, training.png,
pattern_formation.png, navigation.png, gridcells.json (every number shown, with the wall-clock of each part)
and gridcells_summary.json (the same without the images, small enough for docs/) to DIR. Settings:
configs/neuro/gridcells.yaml (the CPU size); --preset paper adds gridcells_paper.yaml.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from neuro.cli import parse_study_args, study_parser
from neuro.gridcells.config import PRESETS, load_gridcells_config
from neuro.gridcells.figures import write_study
from neuro.gridcells.study import gridcells_study
from neuro.gridcells.training import train
from neuro.plotting import write_json


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = study_parser(__doc__, ("train", "figures"), "gridcells",
                          out_help="run directory (train) or figure directory (figures)")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu", help="cpu: this machine's size; paper")
    parser.add_argument("--quiet", action="store_true", help="no per-interval training lines")
    return parse_study_args(parser, argv, needs_out=("train", "figures"))


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    cfg = load_gridcells_config(args.overrides, args.preset)
    if args.command == "train":
        summary = {"preset": args.preset, "overrides": args.overrides}
        for name in cfg.models:
            summary[name] = train(name, cfg, args.out / name, progress=not args.quiet)
            print(f"{name}: {summary[name]['steps']} steps in {summary[name]['wall_s']:.0f} s, "
                  f"decoding error {summary[name].get('final_decoding_error_cm', float('nan')):.1f} cm")
        print(write_json(summary, args.out / "train.json"))
        return 0
    torch.set_num_threads(cfg.torch_threads)  # small networks: a second thread only spins on a busy machine
    started = time.perf_counter()
    study = gridcells_study(cfg, Path(cfg.run_dir) if cfg.run_dir else None)
    study["preset"], study["overrides"] = args.preset, args.overrides
    study["wall_s"] = time.perf_counter() - started
    pattern = study["pattern"]
    print(f"pattern formation gridness (mean over {cfg.pattern.num_patterns}): unconstrained "
          f"{pattern['unconstrained']['mean_gridness_60']:.2f}, "
          f"nonnegative {pattern['nonnegative']['mean_gridness_60']:.2f}")
    for name, net in study["networks"].items():
        print(f"{name} ({net['scale']}): {100 * net['grid']['fraction_grid_like']:.1f}% grid-like, decoding error "
              f"{net['decoding_error_cm_trained_length']:.1f} cm over its training length")
    for path in write_study(study, args.out, cfg.dpi):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
