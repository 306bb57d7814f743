"""Run a named reproduction and compare it with its reference at equal frames.

    python scripts/reproduce.py dopamine --games breakout,boxing --agents dqn,qrdqn --frames 2e6 --seeds 0
    python scripts/reproduce.py minatar_rr --games breakout,freeway,asterix --seeds 0,1 --parallel 2
    python scripts/reproduce.py dopamine --launcher slurm hydra.launcher.partition=gpu     # one Slurm array
    python scripts/reproduce.py dopamine --compare-only                                     # tables from the runs

The name is an experiment preset (configs/experiment/<name>.yaml): `dopamine` (Dopamine's Atari baselines),
`minatar_rr` (Revisiting Rainbow on MinAtar), `minatar` (Young & Tian's DQN). Each job is
`train.py experiment=<name> agent=A env.game=G seed=S trainer.total_frames=F runs_root=R`, so a run of
this script and a hand-typed run share their run dir. Every job's config is composed and validated before
anything starts. Running the command again resumes unfinished runs from their checkpoints and skips
finished ones.

`--launcher local` (default) runs the jobs on this machine, `--parallel` at a time (one per core, each with
`trainer.torch_threads=--threads`), and every `--progress-s` seconds prints each job's share of its frames, its
frames/s over the last 10 minutes and the time left at that rate;
`--launcher slurm` submits them as one Hydra sweep through configs/hydra/launcher/slurm.yaml (extra
`key=value` arguments go to train.py, e.g. the partition) and waits for it.

Then it writes, under --out (default docs/results/<name>): comparison.csv (every iteration: our mean over
seeds against the reference's band and mean, a verdict; `dopamine`: Dopamine's 5-run min–max; `minatar` DQN:
Young & Tian's curve digitized from their figure, mean ± (SE·√30 + the reading uncertainty), marked
`reference_source = young_tian_figure`; `minatar_rr`: no reference), summary.csv (one row per game and agent),
runs.csv (one row per run: its per-iteration values and episodes, frames, wall-clock span and flags) and
curves.png (ours against the reference bands), and report.html next to the runs (analysis/report.py: the
full report of the runs here, its reproduction tables over the whole record). The rows of runs.csv whose run
dirs are not here (trained on another machine, or of games and agents not named this time) are kept and
counted, so committed results of earlier machines and this one's make one comparison; a run here replaces
its own row.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.report import render_report
from analysis.reproduction import (
    ITERATION_FRAMES,
    REFERENCE_BANDS,
    ComparisonRow,
    RunRecord,
    compare_records,
    read_run_records,
    run_records,
    summarize,
    write_csv,
    write_run_records,
)
from analysis.runs import read_run
from envs import minatar as minatar_env
from envs.games import GAMES as ATARI_GAMES
from training.config import CONFIG_DIR, train_config
from training.rundir import read_status
from training.validation import ConfigError, validate_config

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Reproduction:
    """A named reproduction: its preset's defaults for the sweep and the games it can play."""

    games: tuple[str, ...]
    agents: tuple[str, ...]
    frames: int
    seeds: tuple[int, ...]
    valid_games: tuple[str, ...]


REPRODUCTIONS = {
    "dopamine": Reproduction(("breakout",), ("dqn", "c51", "qrdqn", "iqn", "rainbow"), 2_000_000, (0,),
                             tuple(sorted(ATARI_GAMES))),
    "minatar_rr": Reproduction(("breakout", "freeway", "asterix"), ("dqn", "c51", "qrdqn", "iqn", "rainbow"),
                               2_000_000, (0, 1), minatar_env.GAMES),
    "minatar": Reproduction(("breakout", "freeway"), ("dqn",), 2_000_000, (0,), minatar_env.GAMES),
}


@dataclass(frozen=True)
class Job:
    agent: str
    game: str
    seed: int
    overrides: tuple[str, ...]
    run_dir: Path


def _split(text: str | None, default: Sequence, cast=str) -> tuple:
    return tuple(default) if text is None else tuple(cast(x) for x in text.split(",") if x)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help=f"the reproduction: {', '.join(REPRODUCTIONS)}")
    parser.add_argument("--games", help="comma-separated games (default: the reproduction's)")
    parser.add_argument("--agents", help="comma-separated agents (default: the reproduction's)")
    parser.add_argument("--frames", type=float, help="frames per run, e.g. 2e6 (default: the reproduction's)")
    parser.add_argument("--seeds", help="comma-separated seeds (default: the reproduction's)")
    parser.add_argument("--runs-root", type=Path, default=Path("runs"), help="where the run dirs go (default runs/)")
    parser.add_argument("--out", type=Path, help="where the comparison files go (default docs/results/<name>)")
    parser.add_argument("--launcher", choices=("local", "slurm"), default="local")
    parser.add_argument("--parallel", type=int, default=2, help="local: jobs at once (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="local: trainer.torch_threads per job (default 1)")
    parser.add_argument("--progress-s", type=float, default=60.0, help="local: seconds between progress lines")
    parser.add_argument("--compare-only", action="store_true", help="write the comparison from the runs there are")
    parser.add_argument("overrides", nargs="*", help="extra key=value overrides passed to every train.py job")
    args = parser.parse_intermixed_args(argv)
    if args.name not in REPRODUCTIONS:
        parser.error(f"unknown reproduction '{args.name}'; valid: {', '.join(REPRODUCTIONS)}")
    spec = REPRODUCTIONS[args.name]
    args.games = _split(args.games, spec.games)
    args.agents = _split(args.agents, spec.agents)
    args.seeds = _split(args.seeds, spec.seeds, int)
    args.frames = int(args.frames if args.frames is not None else spec.frames)
    bad_games = [g for g in args.games if g not in spec.valid_games]
    if bad_games:
        parser.error(f"unknown game(s) {', '.join(bad_games)} for {args.name}; valid: {', '.join(spec.valid_games)}")
    agents = sorted(p.stem for p in (CONFIG_DIR / "agent").glob("*.yaml"))
    bad_agents = [a for a in args.agents if a not in agents]
    if bad_agents:
        parser.error(f"unknown agent(s) {', '.join(bad_agents)}; valid: {', '.join(agents)}")
    if args.frames <= 0 or args.parallel < 1 or args.threads < 0:
        parser.error("--frames and --parallel must be positive, --threads >= 0")
    bad = [o for o in args.overrides if "=" not in o]
    if bad:
        parser.error(f"extra arguments must be key=value overrides; got {bad}")
    args.out = args.out or ROOT / "docs" / "results" / args.name
    return args


def plan(args: argparse.Namespace) -> list[Job]:
    """Every job's overrides and run dir, each config composed and validated (fails before any work)."""
    jobs = []
    for agent, game, seed in itertools.product(args.agents, args.games, args.seeds):
        overrides = (f"experiment={args.name}", f"agent={agent}", f"env.game={game}", f"seed={seed}",
                     f"trainer.total_frames={args.frames}", f"runs_root={args.runs_root.resolve()}", *args.overrides)
        try:
            cfg = train_config(list(overrides))
            validate_config(cfg)
        except (ConfigError, ValueError) as error:
            raise SystemExit(f"reproduce: job {' '.join(overrides)}: {error}") from None
        jobs.append(Job(agent, game, seed, overrides, Path(cfg.run_dir)))
    return jobs


def job_state(job: Job, frames: int) -> str:
    """`done` (finished its budget), `resume` (a run dir to continue) or `new`."""
    status = read_status(job.run_dir) or {}
    if status.get("status") == "done" and int(status.get("frames") or 0) >= frames:
        return "done"
    return "resume" if job.run_dir.exists() else "new"


def _last_frames(run_dir: Path) -> int:
    """The frame count of the last complete record of the run's metrics.jsonl (0 if none)."""
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return 0
    with path.open("rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(handle.tell() - 4096, 0))
        lines = handle.read().decode("utf-8", errors="replace").splitlines()
    for line in reversed(lines):
        head = line.split('"frames": ', 1)
        if len(head) == 2:
            digits = head[1].split(",", 1)[0].split("}", 1)[0]
            if digits.isdigit():
                return int(digits)
    return 0


RATE_WINDOW_S = 600.0


def progress_text(samples: Sequence[tuple[float, int]], total_frames: int) -> str:
    """A running job's progress from its (time s, frames) samples, oldest first: the share of
    `total_frames` done and, once the frames moved, the rate over the samples (the caller keeps a
    trailing window, so the fast warm-up does not flatter the estimate) and the time left at it."""
    (first_s, first_frames), (last_s, last_frames) = samples[0], samples[-1]
    text = f"{last_frames / total_frames:.0%}"
    if last_s <= first_s or last_frames <= first_frames:
        return text
    rate = (last_frames - first_frames) / (last_s - first_s)
    left_s = max(total_frames - last_frames, 0) / rate
    left = f"{left_s / 3600:.1f} h" if left_s >= 5400 else f"{left_s / 60:.0f} min"
    return f"{text} ({rate:.0f} frames/s, {left} left)"


def run_local(jobs: Sequence[Job], args: argparse.Namespace) -> int:
    """Run the jobs `args.parallel` at a time as train.py processes; returns how many did not end `done`."""
    pending = list(jobs)
    running: dict[Job, tuple[subprocess.Popen, float]] = {}
    samples: dict[Job, list[tuple[float, int]]] = {}
    failed = 0
    last_report = 0.0
    log_dir = args.out / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    while pending or running:
        while pending and len(running) < args.parallel:
            job = pending.pop(0)
            log = (log_dir / f"{job.agent}-{job.game}-seed{job.seed}.log").open("a", encoding="utf-8")
            command = [sys.executable, str(ROOT / "train.py"), *job.overrides,
                       f"trainer.torch_threads={args.threads}", "trainer.progress=false"]
            running[job] = (subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT), time.time())
            print(f"started  {job.agent} {job.game} seed{job.seed} -> {job.run_dir}", flush=True)
        for job, (process, started) in list(running.items()):
            if process.poll() is None:
                continue
            del running[job]
            samples.pop(job, None)
            state = (read_status(job.run_dir) or {}).get("status", "missing")
            failed += state != "done"
            print(f"finished {job.agent} {job.game} seed{job.seed}: {state} after {(time.time() - started) / 60:.1f} "
                  f"min{'' if state == 'done' else f' (see {job.run_dir}/train.log)'}", flush=True)
        if running and time.time() - last_report >= args.progress_s:
            last_report = time.time()
            for job in running:
                earlier = samples.get(job, [])
                kept = [(t, f) for t, f in earlier if t >= last_report - RATE_WINDOW_S] or earlier[-1:]
                samples[job] = [*kept, (last_report, _last_frames(job.run_dir))]
            line = ", ".join(f"{j.agent}/{j.game}/seed{j.seed} {progress_text(samples[j], args.frames)}"
                             for j in running)
            print(f"[{time.strftime('%H:%M:%S')}] {len(pending)} waiting; running: {line}", flush=True)
        time.sleep(1.0)
    return failed


def run_slurm(args: argparse.Namespace) -> int:
    """One Hydra sweep through the Slurm launcher; its exit status."""
    command = [sys.executable, str(ROOT / "train.py"), "-m", f"experiment={args.name}",
               f"agent={','.join(args.agents)}", f"env.game={','.join(args.games)}",
               f"seed={','.join(map(str, args.seeds))}", f"trainer.total_frames={args.frames}",
               f"runs_root={args.runs_root.resolve()}", "hydra/launcher=slurm", *args.overrides]
    print(" ".join(command), flush=True)
    return subprocess.call(command, cwd=ROOT)


def curves_figure(rows: Sequence[ComparisonRow], records: Sequence[RunRecord], path: Path) -> Path:
    """One panel per game: each agent's per-iteration mean (over seeds) against the reference's band at the same
    iteration (a bar, joined by a band across iterations; what the band is: `REFERENCE_BANDS`); hollow markers
    are partial iterations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    games = sorted({r.game for r in rows})
    agents = sorted({r.agent for r in rows})
    fig, axes = plt.subplots(1, len(games), figsize=(5 * len(games), 4.2), squeeze=False)
    colors = dict(zip(agents, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    for ax, game in zip(axes[0], games, strict=True):
        for agent in agents:
            mine = sorted((r for r in rows if r.game == game and r.agent == agent), key=lambda r: r.iteration)
            if not mine:
                continue
            color = colors[agent]
            banded = [r for r in mine if np.isfinite(r.reference_min)]
            if banded:
                frames = [r.frames_end for r in banded]
                low, high = [r.reference_min for r in banded], [r.reference_max for r in banded]
                ax.vlines(frames, low, high, color=color, alpha=0.5, linewidth=6)
                ax.fill_between(frames, low, high, color=color, alpha=0.15, linewidth=0)
            ax.plot([r.frames_end for r in mine], [r.ours_mean for r in mine], "-", color=color, label=agent)
            for row in mine:
                ax.plot(row.frames_end, row.ours_mean, "o", color=color,
                        markerfacecolor=color if row.complete else "none")
            for record in records:
                if (record.game, record.agent) != (game, agent):
                    continue
                means = record.iterations
                ax.plot([(k + 1) * ITERATION_FRAMES for k in sorted(means)], [means[k][0] for k in sorted(means)],
                        ".", color=color, alpha=0.5)
        ax.set_title(game)
        ax.set_xlabel("frames (end of each 1M-frame iteration)")
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("training return per iteration")
    bands = sorted({REFERENCE_BANDS[r.suite] for r in rows if np.isfinite(r.reference_min)})
    width = 62 * len(games)  # characters a line of the title holds at fontsize 9
    fig.suptitle("\n".join(textwrap.fill(line, width) for line in [
        "ours: line = mean over seeds, dots = seeds, hollow = partial iteration",
        *(f"reference bar at each iteration: {band}" for band in bands)]), fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_comparison(jobs: Sequence[Job], args: argparse.Namespace) -> int:
    """Read the jobs' run dirs and write the comparison files; 1 if there is nothing to compare.

    The runs already in --out's runs.csv whose run dirs are not among these jobs' (trained on another machine, or
    another game or agent of the same reproduction) stay in it and count in the comparison: the out dir is the
    record of every run of the reproduction, and a run here replaces its own row."""
    out = args.out
    present = [job for job in jobs if (job.run_dir / "config.yaml").exists()]
    runs = [read_run(job.run_dir) for job in present]
    records = run_records(runs)
    here = {(job.agent, job.game, job.seed) for job in present}
    kept = []
    if (out / "runs.csv").exists():
        try:
            kept = [r for r in read_run_records(out / "runs.csv") if (r.agent, r.game, r.seed) not in here]
        except ValueError as error:
            print(f"reproduce: {error}; move it aside to start a new record", file=sys.stderr)
            return 1
    for r in kept:
        print(f"kept from {out / 'runs.csv'} (not among this command's runs): {r.agent} {r.game} seed{r.seed}")
    records = records + kept
    rows = compare_records(records)
    if not rows:
        print(f"reproduce: no run has finished a training episode yet under {args.runs_root / args.name}",
              file=sys.stderr)
        return 1
    write_csv(rows, out / "comparison.csv")
    summary = summarize(rows)
    write_csv(summary, out / "summary.csv")
    write_run_records(records, out / "runs.csv")
    curves_figure(rows, records, out / "curves.png")
    written = f"{out}/comparison.csv, summary.csv, runs.csv, curves.png"
    if runs:
        report = args.runs_root / args.name / "report.html"
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(render_report(runs, args.runs_root, title=f"Reproduction: {args.name}", comparison=rows),
                          encoding="utf-8")
        written += f" and {report} (the runs here; its reproduction tables count the whole record)"
    print(f"{'game':<16}{'agent':<10}{'iterations':>11}{'below':>7}{'inside':>7}{'above':>7}  last (ours | reference)")
    for s in summary:
        band = (f" | {s.last_reference_min:.3g}–{s.last_reference_max:.3g}" if np.isfinite(s.last_reference_min)
                else "")
        print(f"{s.game:<16}{s.agent:<10}{s.iterations:>11}{s.below:>7}{s.inside:>7}{s.above:>7}  "
              f"{s.last_verdict} ({s.last_ours:.3g}{band}"
              f"{', read off a figure' if s.reference_source == 'young_tian_figure' else ''})"
              f"{'  ⚑ ' + s.flags if s.flags else ''}")
    print(f"wrote {written}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    jobs = plan(args)
    states = {job: job_state(job, args.frames) for job in jobs}
    for job in jobs:
        print(f"{states[job]:<7}{job.agent} {job.game} seed{job.seed}")
    failed = 0
    if not args.compare_only:
        todo = [job for job in jobs if states[job] != "done"]
        print(f"{len(jobs) - len(todo)} of {len(jobs)} runs already done; {len(todo)} to run", flush=True)
        if todo:
            failed = run_local(todo, args) if args.launcher == "local" else run_slurm(args)
    status = write_comparison(jobs, args)
    return 1 if failed or status else 0


if __name__ == "__main__":
    sys.exit(main())
