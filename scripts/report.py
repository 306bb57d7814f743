"""Write the score-comparison report of every run under a folder: one self-contained HTML file.

    python scripts/report.py runs/ -o report.html
    python scripts/report.py runs/atari5 -o atari5.html --reps 5000 --seed 1

The page (plotly.js inlined, opens offline) holds aggregate HNS curves with bootstrap CIs, final
aggregates, a per-game table beside the published no-op scores, performance profiles and the
probability of improvement between agents (see `analysis/report.py`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.report import ReportOptions, build_report


def main(argv: list[str] | None = None) -> int:
    defaults = ReportOptions()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path,
                        help="folder searched recursively for run dirs (config.yaml + metrics.jsonl)")
    parser.add_argument("-o", "--output", type=Path, default=Path("report.html"), help="HTML file to write")
    parser.add_argument("--reps", type=int, default=defaults.reps, help="bootstrap replicates of final statistics")
    parser.add_argument("--curve-reps", type=int, default=defaults.curve_reps,
                        help="bootstrap replicates at each point of the curves")
    parser.add_argument("--confidence", type=float, default=defaults.confidence, help="CI level, in (0, 1)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="bootstrap seed (reports are reproducible)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar while reading runs")
    args = parser.parse_args(argv)
    options = ReportOptions(reps=args.reps, curve_reps=args.curve_reps, confidence=args.confidence, seed=args.seed)
    try:
        path = build_report(args.root, args.output, options, progress=not args.no_progress)
    except (FileNotFoundError, ValueError) as error:
        print(f"report: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
