"""Our runs against a published reference at equal frames: per-iteration verdicts and a summary.

The unit of comparison is Dopamine's: per 1M-frame iteration, the average return of the training episodes in
that iteration (ε-greedy), set against the reference runs' band for the same iteration. For every (suite, game,
agent) we average each of our runs' training episodes that ended inside an iteration, average that over our
seeds, and give a verdict of `below`, `inside` or `above` the band. The references (`ReferenceCurve`, shared
with the report's figures and scripts/reproduce.py's curves.png):

- Atari runs played under sticky actions without no-op starts (`env/protocol=dopamine`, or `machado`, flagged
  because it plays the full action set), suite `atari/dopamine`: Dopamine's curves of the same agent, 5 runs,
  the band their min–max and the mean theirs at the iteration's end.
- MinAtar runs of `experiment=minatar` with agent dqn, suite `minatar/minatar`: Young & Tian's DQN curve, which
  is published only as a figure and was digitized (`analysis/data/minatar_young_tian_dqn.csv`). The reference
  mean is the digitized 30-run mean averaged over the iteration's frames; the band is that mean ± (one
  between-run SD + the reading uncertainty), SD = SE·√30: only the mean and its SE are published, and ±1 SD
  covers ~68% of runs, about what the min–max of Dopamine's 5 runs covers of a new run in expectation,
  (n−1)/(n+1) = 4/6 (`analysis.reference.young_tian_reference`). Those rows say `reference_source =
  young_tian_figure` and carry the reading uncertainty. Their value at frame f is the mean of the last 100
  episodes, so ours is computed the same way (`moving_average_means`: our trailing 100-episode mean at the
  figure's points, averaged over the iteration), not as the iteration's episode mean, which early in training
  weighs the many short episodes of a poor policy far more than a frame-indexed curve does.
- `experiment=minatar_rr` (Revisiting Rainbow), suite `minatar/minatar_rr`: its figures are not digitized; its
  rows carry our numbers with verdict `no reference`.

A run whose config differs from its preset (the experiment named by its `experiment_name`, composed for its
agent, game and seed) is flagged with the differing keys; run-management keys (budget, threads, device,
logging, checkpoints, paths) are not settings of the reference and are ignored.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from analysis.reference import (
    REFERENCE_AGENT_NAMES,
    ReferenceCurve,
    dopamine_curves,
    dopamine_reference,
    young_tian_curves,
    young_tian_reference,
)
from analysis.runs import Run
from training.rundir import CONFIG_FILE

ITERATION_FRAMES = 1_000_000
VERDICTS = ("below", "inside", "above")
NO_REFERENCE = "no reference"
REFERENCE_PROTOCOLS = {"dopamine": "", "machado": "protocol machado: full action set (Dopamine's is minimal)"}
# What the presets cannot express (configs/experiment/{dopamine,minatar_rr}.yaml say the same), per suite.
KNOWN_DIFFERENCES = {
    "atari/dopamine": (
        "frames: ale-py's vector env grayscales, max-pools and resizes to 84x84 itself; Dopamine resizes with "
        "cv2 INTER_AREA",
        "iterations: fixed 1M-frame bins of episode ends; Dopamine's iteration ends with the episode running at "
        "its 250,000th agent step",
    ),
    "minatar/minatar": (
        "the reference is read off Young & Tian's figure: its band is the 30-run mean ± (SE·√30 + the reading "
        "uncertainty); where the SE band hid under the drawn line, the SE used is its upper bound",
        "Young & Tian plot, at frame f, the mean of the last 100 episodes; ours is computed the same way at their "
        "points (a single run's 100-episode mean, against a mean over 30 runs)",
        "Seaquest: the figure predates minatar 1.0.11, which changed the game",
    ),
    "minatar/minatar_rr": (
        "experiment=minatar_rr Rainbow: Revisiting Rainbow's has noisy layers with one fixed noise draw "
        "(networks_new.py), weights μ + σ·ε started at U(±1/√fan_in) and 0.1/√fan_in; ours has plain Glorot layers; "
        "both act with ε = 0 (theirs by identity_epsilon), so neither explores beyond sticky actions",
        "experiment=minatar_rr DQN: MSE loss, as four of the five gins; dqn_asterix.gin uses Huber",
    ),
}
# What each reference's band is, per suite (the report and curves.png say it beside the band).
REFERENCE_BANDS = {
    "atari/dopamine": "the min–max over Dopamine's 5 runs",
    "minatar/minatar": "the digitized 30-run mean ± (one between-run SD = SE·√30 + the reading uncertainty)",
}
# Keys that manage a run rather than define what it learns: never flagged as a departure from the preset.
RUN_KEYS = ("agent.compile", "trainer.total_frames", "trainer.torch_threads", "trainer.device", "trainer.overlap",
            "trainer.progress", "trainer.resume", "trainer.log_period_frames", "trainer.checkpoint_period_frames",
            "trainer.keep_checkpoints", "trainer.stop_at_mean_return", "trainer.stop_window_episodes", "logger",
            "runs_root", "run_dir", "seed", "env.game", "env.num_threads", "hydra")


@dataclass(frozen=True)
class ComparisonRow:
    """One (suite, game, agent, iteration): our mean over seeds against the reference band."""

    suite: str
    game: str
    agent: str
    iteration: int
    frames_end: int
    ours_mean: float
    ours_min: float
    ours_max: float
    seeds: int
    episodes: int
    reference_min: float
    reference_max: float
    reference_mean: float
    reference_runs: int
    reference_source: str  # "dopamine", "young_tian_figure" (digitized: see reference_read_uncertainty) or ""
    reference_read_uncertainty: float  # mean reading error of a digitized reference (in the band); 0 if published
    complete: bool  # every seed trained past the iteration's end (else its mean covers part of it)
    verdict: str
    flags: str


@dataclass(frozen=True)
class SummaryRow:
    """One (suite, game, agent): how many complete iterations fall below, inside and above the band."""

    suite: str
    game: str
    agent: str
    iterations: int
    below: int
    inside: int
    above: int
    last_iteration: int
    last_ours: float
    last_reference_min: float
    last_reference_max: float
    last_verdict: str
    reference_source: str
    flags: str


@dataclass(frozen=True)
class RunRecord:
    """One run as the comparison sees it: per-iteration values (computed as its reference computes its own) with
    the episodes behind each, its frames and its flags. runs.csv holds one per row, so a comparison can count runs
    trained on other machines, whose run dirs are not here, beside the runs that are (`read_run_records`)."""

    suite: str
    game: str
    agent: str
    seed: int
    status: str
    trained_frames: int
    episodes: int
    span_hours: float
    flags: tuple[str, ...]
    iterations: dict[int, tuple[float, int]]  # iteration -> (our value, episodes ended in it)


def iteration_means(frames: np.ndarray, returns: np.ndarray, iteration_frames: int = ITERATION_FRAMES,
                    ) -> dict[int, tuple[float, int]]:
    """`{iteration: (mean return, episodes)}` of the episodes that ended in each iteration: iteration k
    holds the episodes ending at frames in (k·I, (k+1)·I] (Dopamine's iteration k is frames k·1M to (k+1)·1M)."""
    frames = np.asarray(frames, dtype=np.int64)
    returns = np.asarray(returns, dtype=np.float64)
    if not len(frames):
        return {}
    bins = np.maximum(frames - 1, 0) // iteration_frames
    return {int(k): (float(returns[bins == k].mean()), int((bins == k).sum())) for k in np.unique(bins)}


def moving_average_means(frames: np.ndarray, returns: np.ndarray, at_frames: np.ndarray, window_episodes: int,
                         trained_frames: int, iteration_frames: int = ITERATION_FRAMES) -> dict[int, float]:
    """`{iteration: mean}` of a run's trailing moving average, as a figure of "the moving average of returns over
    `window_episodes` episodes" plots it: at each point f of `at_frames` that the run reached (f ≤ trained_frames),
    the mean return of the last `window_episodes` episodes that ended by f (all of them while fewer have ended;
    none yet: no value), averaged over the points in each iteration (k·I, (k+1)·I]."""
    order = np.argsort(np.asarray(frames, dtype=np.int64), kind="stable")
    ends = np.asarray(frames, dtype=np.int64)[order]
    summed = np.concatenate([[0.0], np.cumsum(np.asarray(returns, dtype=np.float64)[order])])
    points = np.asarray(at_frames, dtype=np.int64)
    points = points[points <= trained_frames]
    ended = np.searchsorted(ends, points, side="right")
    first = np.maximum(ended - window_episodes, 0)
    keep = ended > 0
    values = (summed[ended[keep]] - summed[first[keep]]) / (ended[keep] - first[keep])
    iterations = (points[keep] - 1) // iteration_frames
    return {int(k): float(values[iterations == k].mean()) for k in np.unique(iterations)}


def run_iteration_values(run: Run, curve: ReferenceCurve | None, iteration_frames: int = ITERATION_FRAMES,
                         ) -> dict[int, tuple[float, int]]:
    """`{iteration: (our value, episodes ended in it)}` of one run, computed as `curve` computes its own (see
    `ReferenceCurve.moving_average_episodes`): the iteration's episode mean, or, against a moving-average figure,
    `moving_average_means` over the figure's points; iterations the figure does not reach keep the episode
    mean."""
    means = iteration_means(run.train_curve.frames, run.train_curve.values, iteration_frames)
    if curve is None or not curve.moving_average_episodes:
        return means
    smoothed = moving_average_means(run.train_curve.frames, run.train_curve.values, curve.frames,
                                    curve.moving_average_episodes, run.trained_frames, iteration_frames)
    return {k: (smoothed.get(k, mean), episodes) for k, (mean, episodes) in means.items()}


def metrics_span_s(run_dir: Path) -> float:
    """Seconds between the first and the last record of metrics.jsonl (wall-clock, pauses included)."""
    path = run_dir / "metrics.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    stamps = []
    for line in (lines[:1] + lines[-2:]):
        head = line.split('"time": ', 1)
        if len(head) == 2:
            try:
                stamps.append(float(head[1].split(",", 1)[0].split("}", 1)[0]))
            except ValueError:
                continue
    return max(stamps) - min(stamps) if len(stamps) >= 2 else 0.0


def run_records(runs: Sequence[Run], iteration_frames: int = ITERATION_FRAMES) -> list[RunRecord]:
    """A `RunRecord` of each run with training returns, its values computed against its own reference."""
    runs = [r for r in runs if len(r.train_curve)]
    references = reference_curves({(reference_suite(r), r.game, r.agent) for r in runs})
    records = []
    for run in runs:
        suite = reference_suite(run)
        curve = references.get((suite, run.game, run.agent)) if iteration_frames == ITERATION_FRAMES else None
        records.append(RunRecord(suite, run.game, run.agent, run.seed, run.status or "", run.trained_frames,
                                 len(run.train_curve), metrics_span_s(run.path) / 3600, tuple(_run_flags(run)),
                                 run_iteration_values(run, curve, iteration_frames)))
    return records


def verdict(value: float, low: float, high: float) -> str:
    """`below`, `inside` or `above` the closed band [low, high]; `no reference` where it is missing."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return NO_REFERENCE
    if value < low:
        return "below"
    return "above" if value > high else "inside"


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: node}


def _is_run_key(key: str) -> bool:
    return any(key == k or key.startswith(k + ".") for k in RUN_KEYS)


@cache
def _preset(experiment: str, agent: str, game: str) -> dict[str, Any] | None:
    """The preset's flat config for this experiment, agent and game; None if no experiment has that name."""
    from omegaconf import OmegaConf

    from training.config import CONFIG_DIR, compose_config

    if not (CONFIG_DIR / "experiment" / f"{experiment}.yaml").exists():
        return None
    cfg = compose_config([f"experiment={experiment}", f"agent={agent}", f"env.game={game}"])
    return _flatten(OmegaConf.to_container(cfg, resolve=True))


def preset_differences(run: Run) -> list[str]:
    """`key: ours (preset …)` for every setting where the run's config.yaml departs from its preset, or one
    line saying there is no preset of that name."""
    preset = _preset(run.experiment, run.agent, run.game)
    if preset is None:
        return [f"no preset named experiment={run.experiment}"]
    saved = yaml.safe_load((run.path / CONFIG_FILE).read_text(encoding="utf-8")) or {}
    ours = _flatten(saved)
    differences = []
    for key in sorted(set(preset) | set(ours)):
        if _is_run_key(key) or ours.get(key) == preset.get(key):
            continue
        differences.append(f"{key}: {ours.get(key)!r} (preset {preset.get(key)!r})")
    return differences


def reference_suite(run: Run) -> str:
    """The suite a run is compared in: the reference it meets (`atari/dopamine`) or its experiment on MinAtar."""
    if run.is_atari:
        return "atari/dopamine" if run.protocol in REFERENCE_PROTOCOLS else f"atari/{run.protocol}"
    return f"minatar/{run.experiment}" if run.env_kind == "minatar" else run.env_kind


def reference_curves(pairs: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], ReferenceCurve]:
    """The reference of each (suite, game, agent) that has one (see the module docstring)."""
    pairs = set(pairs)
    dopamine = {(g, REFERENCE_AGENT_NAMES[a]) for s, g, a in pairs
                if s == "atari/dopamine" and a in REFERENCE_AGENT_NAMES}
    curves = dopamine_curves({g for g, _ in dopamine}, {a for _, a in dopamine}) if dopamine else {}
    minatar = {g for s, g, a in pairs if s == "minatar/minatar" and a == "dqn"}
    digitized = young_tian_curves(minatar) if minatar else {}
    references = {}
    for suite, game, agent in pairs:
        if suite == "atari/dopamine" and (game, REFERENCE_AGENT_NAMES.get(agent)) in curves:
            references[(suite, game, agent)] = dopamine_reference(curves[(game, REFERENCE_AGENT_NAMES[agent])])
        elif suite == "minatar/minatar" and agent == "dqn" and game in digitized:
            references[(suite, game, agent)] = young_tian_reference(digitized[game])
    return references


def _run_flags(run: Run) -> list[str]:
    flags = [f"differs from preset: {d}" for d in preset_differences(run)]
    if run.is_atari and REFERENCE_PROTOCOLS.get(run.protocol or ""):
        flags.append(REFERENCE_PROTOCOLS[run.protocol or ""])
    return flags


def compare(runs: Sequence[Run], iteration_frames: int = ITERATION_FRAMES) -> list[ComparisonRow]:
    """Per (suite, game, agent, iteration) rows for every run with training returns (see module docstring)."""
    return compare_records(run_records(runs, iteration_frames), iteration_frames)


def compare_records(records: Sequence[RunRecord], iteration_frames: int = ITERATION_FRAMES) -> list[ComparisonRow]:
    """`compare` from run records: our mean over the seeds of each (suite, game, agent) per iteration against the
    reference band."""
    groups: dict[tuple[str, str, str], list[RunRecord]] = {}
    for record in records:
        groups.setdefault((record.suite, record.game, record.agent), []).append(record)
    references = reference_curves(groups)
    rows = []
    for (suite, game, agent), group in sorted(groups.items()):
        curve = references.get((suite, game, agent)) if iteration_frames == ITERATION_FRAMES else None
        flags = sorted({f for r in group for f in r.flags})
        for iteration in sorted({k for r in group for k in r.iterations}):
            values = [r.iterations[iteration][0] for r in group if iteration in r.iterations]
            episodes = sum(r.iterations[iteration][1] for r in group if iteration in r.iterations)
            frames_end = (iteration + 1) * iteration_frames
            low = high = mean = read = float("nan")
            reference_runs = 0
            if curve is not None:
                low, high, mean, read, reference_runs = curve.window(frames_end - iteration_frames, frames_end)
            source = curve.source if reference_runs else ""
            ours = float(np.mean(values))
            complete = all(r.trained_frames >= frames_end for r in group)
            rows.append(ComparisonRow(suite, game, agent, iteration, frames_end, ours, float(min(values)),
                                      float(max(values)), len(values), episodes, low, high, mean, reference_runs,
                                      source, read, complete, verdict(ours, low, high), "; ".join(flags)))
    return rows


def summarize(rows: Iterable[ComparisonRow]) -> list[SummaryRow]:
    """One row per (suite, game, agent): verdict counts over the complete iterations that have a reference, and
    the last complete one (the last one if none is complete)."""
    by_pair: dict[tuple[str, str, str], list[ComparisonRow]] = {}
    for row in rows:
        by_pair.setdefault((row.suite, row.game, row.agent), []).append(row)
    summary = []
    for (suite, game, agent), pair in sorted(by_pair.items()):
        pair.sort(key=lambda r: r.iteration)
        judged = [r for r in pair if r.verdict in VERDICTS and r.complete]
        last = ([r for r in pair if r.complete] or pair)[-1]
        counts = {v: sum(r.verdict == v for r in judged) for v in VERDICTS}
        summary.append(SummaryRow(suite, game, agent, len(judged), counts["below"], counts["inside"], counts["above"],
                                  last.iteration, last.ours_mean, last.reference_min, last.reference_max, last.verdict,
                                  next((r.reference_source for r in pair if r.reference_source), ""), last.flags))
    return summary


def write_csv(rows: Sequence[ComparisonRow] | Sequence[SummaryRow], path: Path) -> Path:
    """Rows as CSV with a header (floats to 4 significant decimals; NaN as empty)."""
    if not rows:
        raise ValueError(f"nothing to write to {path}: no rows")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = [f.name for f in fields(rows[0])]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=names)
        writer.writeheader()
        for row in rows:
            values = asdict(row)
            writer.writerow({k: ("" if isinstance(v, float) and not np.isfinite(v) else
                                 f"{v:.4g}" if isinstance(v, float) else v) for k, v in values.items()})
    return path


RECORD_COLUMNS = ("suite", "agent", "game", "seed", "status", "frames", "episodes", "span_hours", "flags")
FLAG_SEPARATOR = " | "


def write_run_records(records: Sequence[RunRecord], path: Path) -> Path:
    """runs.csv: one row per run, `iteration_k` (to 6 significant digits, enough to recompute every verdict) and
    `iteration_k_episodes` per iteration, flags joined by " | "."""
    iterations = sorted({k for r in records for k in r.iterations})
    names = [*RECORD_COLUMNS, *(f"iteration_{k}{suffix}" for k in iterations for suffix in ("", "_episodes"))]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=names)
        writer.writeheader()
        for r in sorted(records, key=lambda r: (r.suite, r.game, r.agent, r.seed)):
            row = {"suite": r.suite, "agent": r.agent, "game": r.game, "seed": r.seed, "status": r.status,
                   "frames": r.trained_frames, "episodes": r.episodes, "span_hours": f"{r.span_hours:.2f}",
                   "flags": FLAG_SEPARATOR.join(r.flags)}
            for k, (value, episodes) in r.iterations.items():
                row[f"iteration_{k}"], row[f"iteration_{k}_episodes"] = f"{value:.6g}", episodes
            writer.writerow(row)
    return path


def read_run_records(path: Path) -> list[RunRecord]:
    """The records of a runs.csv that `write_run_records` wrote; ValueError naming the file if it lacks a column."""
    with Path(path).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in RECORD_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path} lacks the column(s) {', '.join(missing)} of a runs.csv (columns: "
                             f"{', '.join(RECORD_COLUMNS)}, iteration_k, iteration_k_episodes)")
        records = []
        for row in reader:
            iterations = {int(name.removeprefix("iteration_")): (float(value), int(row[f"{name}_episodes"]))
                          for name, value in row.items()
                          if name.startswith("iteration_") and not name.endswith("_episodes") and value}
            records.append(RunRecord(row["suite"], row["game"], row["agent"], int(row["seed"]), row["status"],
                                     int(row["frames"]), int(row["episodes"]), float(row["span_hours"]),
                                     tuple(row["flags"].split(FLAG_SEPARATOR)) if row["flags"] else (),
                                     dict(sorted(iterations.items()))))
    return records
