"""Tabulate runs in fixed frame windows: episodes, mean training return and logged scalars per window.

    python scripts/run_windows.py "preset=runs/minatar_rr/c51/asterix/seed0" \\
        "eps 1e-8=runs/eps/c51/asterix/seed0" --window-frames 50000 --max-frames 1000000 \\
        --tags q/sd,q/mean,optim/eps_dominated_fraction --csv c51.csv --png c51.png --log-tags q/sd

Each positional argument is LABEL=RUN_DIR (or a bare RUN_DIR, labelled by its path). The CSV has one row per
run and window: label, end_frames, episodes (training episodes ended in the window), episode_return_mean,
then each tag as it stood at the window's end (`analysis/windows.py`). The PNG plots the return and each tag
against frames, one panel each, one line per run. This is how the diagnostics under docs/results/diagnostics/
are made: comparing a control run with its preset window by window.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

from analysis.windows import Window, metric_windows


def _column(tag: str) -> str:
    return tag.replace("/", "_")


def _parse_run(spec: str) -> tuple[str, Path]:
    label, sep, path = spec.partition("=")
    return (label, Path(path)) if sep else (spec, Path(spec))


def write_csv(path: Path, runs: dict[str, list[Window]], tags: list[str]) -> None:
    """One row per run and window; NaN cells are left empty, values rounded to 6 significant digits."""
    def cell(value: float) -> str:
        return "" if math.isnan(value) else f"{value:.6g}"

    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["run", "end_frames", "episodes", "episode_return_mean", *map(_column, tags)])
        for label, windows in runs.items():
            for w in windows:
                writer.writerow([label, w.end_frames, w.episodes, cell(w.episode_return_mean),
                                 *(cell(w.tags[t]) for t in tags)])


def write_png(path: Path, runs: dict[str, list[Window]], tags: list[str], log_tags: set[str]) -> None:
    """The mean return per window and each tag against frames, a panel each; one legend beside the panels, and
    a distinct colour per run up to 20 runs (tab20 beyond 10), so that many runs stay apart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = ["episode_return_mean", *tags]
    colours = plt.get_cmap("tab10" if len(runs) <= 10 else "tab20").colors
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        for index, (label, windows) in enumerate(runs.items()):
            x = [w.end_frames for w in windows]
            y = [w.episode_return_mean if panel == "episode_return_mean" else w.tags[panel] for w in windows]
            ax.plot(x, y, marker=".", label=label, color=colours[index % len(colours)])
        ax.set_xlabel("frames")
        ax.set_ylabel("training return (window mean)" if panel == "episode_return_mean" else panel)
        if panel in log_tags:
            ax.set_yscale("log")
    fig.tight_layout()
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="LABEL=RUN_DIR or RUN_DIR")
    parser.add_argument("--window-frames", type=int, default=50_000, help="window width in frames")
    parser.add_argument("--max-frames", type=int, default=None, help="drop windows ending after this many frames")
    parser.add_argument("--tags", default="q/sd,q/mean", help="comma-separated metrics.jsonl tags")
    parser.add_argument("--log-tags", default="", help="tags plotted on a log scale")
    parser.add_argument("--csv", type=Path, required=True, help="CSV to write")
    parser.add_argument("--png", type=Path, default=None, help="figure to write")
    args = parser.parse_args(argv)
    tags = [t for t in args.tags.split(",") if t]
    log_tags = {t for t in args.log_tags.split(",") if t}
    if unknown := sorted(log_tags - set(tags)):
        parser.error(f"--log-tags {','.join(unknown)} not in --tags {','.join(tags)}")
    specs = [_parse_run(spec) for spec in args.runs]
    if len({label for label, _ in specs}) != len(specs):
        parser.error("two runs share a label; give each LABEL=RUN_DIR a distinct label")
    runs: dict[str, list[Window]] = {}
    try:
        for label, run_dir in specs:
            windows = metric_windows(run_dir, args.window_frames, tags)
            if args.max_frames is not None:
                windows = [w for w in windows if w.end_frames <= args.max_frames]
            runs[label] = windows
    except (FileNotFoundError, ValueError) as error:
        print(f"run_windows: {error}", file=sys.stderr)
        return 2
    write_csv(args.csv, runs, tags)
    print(f"wrote {args.csv}")
    if args.png is not None:
        write_png(args.png, runs, tags, log_tags)
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
