"""The dopamine study: distributional TD as a model of dopamine neurons, and the same analysis on agents.

    python scripts/dopamine.py figures --out DIR [key=value ...]
    python scripts/dopamine.py analyze run_dir=RUN [--out DIR] [key=value ...]

`figures` simulates the model study (neuro/dopamine/study.py; settings in configs/neuro/dopamine.yaml, overridable
as key=value) and writes response_curves.png, asymmetry_reversal.png, decoding.png, cue_responses.png and
dopamine.json (every number shown) to DIR; with run_dir=RUN it adds agent_cells.png and the agent's numbers.
`analyze` treats each quantile/expectile channel of a QR-DQN, IQN, FQF or expectile agent trained with
experiment=variable_magnitude as a cell (neuro/dopamine/agent_cells.py), prints a summary and writes analysis.json and
agent_cells.png to DIR (default RUN/dopamine).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from neuro.cli import parse_study_args, study_parser
from neuro.dopamine.agent_cells import analyze_run
from neuro.dopamine.config import load_dopamine_config
from neuro.dopamine.figures import agent_figure, write_study
from neuro.dopamine.study import model_study
from neuro.plotting import write_json


def _parse(argv: list[str]) -> argparse.Namespace:
    return parse_study_args(study_parser(__doc__, ("figures", "analyze"), "dopamine"), argv)


def _agent_summary(analysis: dict) -> str:
    return (f"{analysis['agent']} ({analysis['form']} channels, {len(analysis['taus'])}) at {analysis['checkpoint']}: "
            f"r(asymmetry, reversal) = {analysis['r_asymmetry_reversal']:.3f}, "
            f"W1 decoded from reversal points = {analysis['decoded_measured']['w1']:.3f}, "
            f"from channel values = {analysis['decoded_channels']['w1']:.3f} "
            f"(mean only: {analysis['w1_mean_only']:.3f})")


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    cfg = load_dopamine_config(args.overrides)
    agent = None
    if cfg.run_dir:
        agent = analyze_run(Path(cfg.run_dir), cfg.decode_iterations, cfg.agent_channels)
        print(_agent_summary(agent))
    elif args.command == "analyze":
        print("analyze needs run_dir=RUN (a run trained with experiment=variable_magnitude)", file=sys.stderr)
        return 2
    if args.command == "analyze":
        out = args.out or Path(cfg.run_dir) / "dopamine"
        out.mkdir(parents=True, exist_ok=True)
        for path in (write_json(agent, out / "analysis.json"), agent_figure(agent, out / "agent_cells.png", cfg.dpi)):
            print(path)
        return 0
    study = model_study(cfg)
    pops = study["populations"]
    print(f"r(asymmetry, reversal): distributional noiseless {pops['distributional']['noiseless']['r']:.3f}, "
          f"noisy {pops['distributional']['noisy']['r']:.3f}; classical noisy {pops['classical']['noisy']['r']:.3f}")
    print(f"split-half reliability: distributional {pops['distributional']['split_half']['r']:.3f}, "
          f"classical {pops['classical']['split_half']['r']:.3f}")
    print("W1 decoded: " + ", ".join(f"{k} {v['w1']:.3f}" for k, v in study["decoded"].items()))
    for path in write_study(study, args.out, cfg.dpi, agent):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
