"""Read run directories into per-agent score matrices `[runs, games]` at each frame count.

A run directory is any folder under the root holding `config.yaml` and `metrics.jsonl` (what
`train.py` writes); hidden folders (`.hydra/`, `.submitit/`) and runs moved aside by
`trainer.resume=false` (`seed0.replaced-<time>`) are skipped. From each run we read its
agent, game, seed, experiment and protocol (`config.yaml`), its fate (`status.json`), its evaluation
curve (`eval/return` records of `metrics.jsonl`, x = frames), its training episode returns (Atari runs
under sticky actions, `machado` or `dopamine`, and MinAtar runs: their references report training returns;
analysis/reproduction.py compares them), and any `eval/eval-*.json` summaries that
`evaluate.py` wrote.

Rules the report relies on:
- A resumed run replays the frames after its checkpoint, so `metrics.jsonl` can hold two records at
  the same frame count: the later one (the surviving trajectory) wins.
- An `evaluate.py` summary at the same frame count as an in-training evaluation replaces it (it is
  the dedicated, usually longer, evaluation of the same checkpoint); at a new frame count it adds a point.
- Atari scores are human-normalized (`envs.games.human_normalized_score`); other envs keep raw
  returns and each such env is its own suite (raw returns of different envs are not comparable).
- Runs are grouped by (experiment, protocol, agent); a group's label names the parts that vary
  across the runs read.
- Curves are aligned on a common frame grid: at grid point g a run's score is its last evaluation at
  or before g, provided the run has trained up to g (its highest logged frame count); otherwise, and
  before its first evaluation, the score is missing (NaN). Aggregates at g use the runs present there
  (`analysis.metrics` treats NaN as missing). Final scores are each run's last evaluation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from tqdm import tqdm

from envs.games import GAMES, human_normalized_score
from training.logging import METRICS_FILE
from training.rundir import CONFIG_FILE, read_status

EVAL_DIR = "eval"
REPLACED_MARK = ".replaced-"
EVAL_TAG, TRAIN_TAG = "eval/return", "train/episode_return"
TRAINING_RETURN_PROTOCOLS = ("machado", "dopamine")  # sticky-action protocols, scored by training returns
# config.yaml is plain resolved YAML (OmegaConf.to_yaml of the typed config): the C loader reads it fastest.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Curve:
    """Scores `values[T]` at increasing frame counts `frames[T]`."""

    frames: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)


@dataclass(frozen=True)
class Run:
    """One run directory, read."""

    path: Path
    agent: str
    game: str
    seed: int
    experiment: str
    env_kind: str
    protocol: str | None
    status: str | None
    error: str | None
    trained_frames: int
    eval_curve: Curve
    train_curve: Curve  # every training episode's return at the frames it ended (repeats allowed), where read
    eval_summaries: tuple[dict[str, Any], ...] = field(default=())

    @property
    def is_atari(self) -> bool:
        return self.env_kind == "atari"

    @property
    def group(self) -> tuple[str, str, str]:
        """(experiment, protocol, agent): runs comparable as one agent."""
        return (self.experiment, self.protocol or self.env_kind, self.agent)

    @property
    def suite(self) -> str:
        """`atari` (scores human-normalized across games) or the classic env's name (raw returns)."""
        return "atari" if self.is_atari else self.game

    def normalize(self, scores: np.ndarray) -> np.ndarray:
        """HNS on Atari; raw returns elsewhere."""
        if self.is_atari and self.game in GAMES:
            return np.asarray(human_normalized_score(self.game, np.asarray(scores)), dtype=np.float64)
        return np.asarray(scores, dtype=np.float64)

    @property
    def final_return(self) -> float:
        return float(self.eval_curve.values[-1]) if len(self.eval_curve) else float("nan")

    @property
    def final_frames(self) -> int:
        return int(self.eval_curve.frames[-1]) if len(self.eval_curve) else 0


def _skipped_dir(name: str) -> bool:
    """Folders never searched: a run's own sub-folders, hidden ones (.hydra, .submitit) and the old runs
    that `trainer.resume=false` moved aside (`seed0.replaced-<time>`)."""
    return name in ("checkpoints", "tb", EVAL_DIR) or name.startswith(".") or REPLACED_MARK in name


def find_run_dirs(root: Path) -> list[Path]:
    """Every directory under `root` (itself included) holding both `config.yaml` and `metrics.jsonl`."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"runs root '{root}' is not a directory")
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not _skipped_dir(d))
        if CONFIG_FILE in filenames and METRICS_FILE in filenames:
            found.append(Path(dirpath))
    return sorted(found)


def _curve(points: dict[int, float]) -> Curve:
    frames = np.array(sorted(points), dtype=np.int64)
    return Curve(frames, np.array([points[f] for f in frames], dtype=np.float64))


def _eval_summaries(run_dir: Path) -> list[dict[str, Any]]:
    summaries = []
    for path in sorted((run_dir / EVAL_DIR).glob("eval-*.json")):
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            continue
        if isinstance(summary.get("train_frames"), int) and summary.get("mean_return") is not None:
            summaries.append(summary)
    return summaries


def read_returns(run_dir: Path, training_returns: bool) -> tuple[dict[int, float], list[tuple[int, float]], int]:
    """`metrics.jsonl`'s evaluation returns `{frames: return}` (a later record at the same frames wins),
    training episode returns `[(frames, return)]` if asked for, and the highest frame count logged.

    Only the lines holding those tags (and the last line) are parsed: a long run logs tens of thousands
    of records and a sweep has hundreds of runs. A torn line (a killed writer) is skipped.
    """
    path = Path(run_dir) / METRICS_FILE
    evals: dict[int, float] = {}
    train: list[tuple[int, float]] = []
    trained_frames = 0
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for line in lines:
        if EVAL_TAG not in line and not (training_returns and TRAIN_TAG in line):
            continue
        record = _parse(line)
        if record is None:
            continue
        frames = int(record.get("frames", 0))
        trained_frames = max(trained_frames, frames)
        if record.get(EVAL_TAG) is not None:
            evals[frames] = float(record[EVAL_TAG])
        if training_returns and record.get(TRAIN_TAG) is not None:
            train.append((frames, float(record[TRAIN_TAG])))
    for line in reversed(lines):  # the newest complete record has the highest frame count
        record = _parse(line)
        if record is not None:
            trained_frames = max(trained_frames, int(record.get("frames", 0)))
            break
    return evals, train, trained_frames


def _parse(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None


def read_run(run_dir: Path) -> Run:
    """Read one run directory (see the module docstring for the rules)."""
    run_dir = Path(run_dir)
    cfg = yaml.load((run_dir / CONFIG_FILE).read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}

    def get(key: str, default: Any) -> Any:
        value: Any = cfg
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return default if value is None else value

    env_kind = str(get("env.kind", "atari"))
    protocol = (str(get("env.protocol.name", "")) or None) if env_kind == "atari" else None
    training_returns = env_kind == "minatar" or protocol in TRAINING_RETURN_PROTOCOLS
    evals, train, trained_frames = read_returns(run_dir, training_returns=training_returns)
    summaries = _eval_summaries(run_dir)
    for summary in summaries:
        evals[summary["train_frames"]] = float(summary["mean_return"])
        trained_frames = max(trained_frames, summary["train_frames"])
    status = read_status(run_dir) or {}
    return Run(
        path=run_dir,
        agent=str(get("agent.name", "unknown")),
        game=str(get("env.game", "unknown")),
        seed=int(get("seed", 0)),
        experiment=str(get("experiment_name", "default")),
        env_kind=env_kind,
        protocol=protocol,
        status=status.get("status"),
        error=status.get("error"),
        trained_frames=max(trained_frames, int(status.get("frames") or 0)),
        eval_curve=_curve(evals),
        train_curve=Curve(np.array([f for f, _ in train], dtype=np.int64), np.array([v for _, v in train])),
        eval_summaries=tuple(summaries),
    )


def read_runs(root: Path, progress: bool = True) -> list[Run]:
    """Read every run under `root`, with a progress bar over the directories."""
    dirs = find_run_dirs(root)
    return [read_run(d) for d in tqdm(dirs, desc="reading runs", unit="run", disable=not progress or not dirs)]


def group_labels(runs: Sequence[Run]) -> dict[tuple[str, str, str], str]:
    """A readable label per group: the agent, prefixed by the experiment and protocol where those vary."""
    groups = sorted({run.group for run in runs})
    atari_protocols = {run.protocol for run in runs if run.is_atari}
    vary_experiment = len({g[0] for g in groups}) > 1
    vary_protocol = len(atari_protocols) > 1
    labels = {}
    for experiment, protocol, agent in groups:
        label = agent
        if vary_protocol and protocol in atari_protocols:
            label = f"{label} [{protocol}]"
        if vary_experiment:
            label = f"{experiment}/{label}"
        labels[(experiment, protocol, agent)] = label
    return labels


@dataclass(frozen=True)
class ScoreMatrices:
    """One agent's scores in one suite.

    `curve[T, R, G]`: normalized score of run r on game g at `frames[t]` (NaN = missing);
    `final[R, G]`: each run's last evaluation, normalized; `final_raw[R, G]`: the same, raw.
    Rows are runs sorted by seed within each game (a game with fewer runs has NaN rows at the end).
    """

    label: str
    suite: str
    games: tuple[str, ...]
    frames: np.ndarray
    curve: np.ndarray
    final: np.ndarray
    final_raw: np.ndarray
    final_frames: np.ndarray
    runs: tuple[Run, ...]

    @property
    def protocols(self) -> tuple[str, ...]:
        return tuple(sorted({run.protocol or run.env_kind for run in self.runs}))

    def select_games(self, games: Sequence[str]) -> np.ndarray:
        """`final[:, games]` in the order given (the games must all be present)."""
        index = [self.games.index(g) for g in games]
        return self.final[:, index]


def frame_grid(runs: Iterable[Run], max_points: int = 200) -> np.ndarray:
    """The sorted union of the runs' evaluation frame counts, thinned evenly to at most `max_points`."""
    frames = np.unique(np.concatenate([run.eval_curve.frames for run in runs] or [np.zeros(0, np.int64)]))
    if len(frames) > max_points:
        frames = frames[np.unique(np.linspace(0, len(frames) - 1, max_points).round().astype(int))]
    return frames


def score_at(curve: Curve, grid: np.ndarray, trained_frames: int) -> np.ndarray:
    """The last value at or before each grid point; NaN before the first and past `trained_frames`."""
    index = np.searchsorted(curve.frames, grid, side="right") - 1
    values = np.where(index >= 0, curve.values[np.maximum(index, 0)] if len(curve) else np.nan, np.nan)
    return np.where(grid <= trained_frames, values, np.nan)


def score_matrices(runs: Sequence[Run], max_points: int = 200) -> dict[str, dict[str, ScoreMatrices]]:
    """`{suite: {label: ScoreMatrices}}` for the runs that have at least one evaluation.

    Every agent of a suite shares that suite's frame grid.
    """
    labels = group_labels(runs)
    evaluated = [run for run in runs if len(run.eval_curve)]
    by_suite: dict[str, dict[str, list[Run]]] = {}
    for run in evaluated:
        by_suite.setdefault(run.suite, {}).setdefault(labels[run.group], []).append(run)
    out: dict[str, dict[str, ScoreMatrices]] = {}
    for suite, by_label in sorted(by_suite.items()):
        grid = frame_grid([r for group in by_label.values() for r in group], max_points)
        out[suite] = {}
        for label, group in sorted(by_label.items()):
            games = tuple(sorted({run.game for run in group}))
            by_game = {g: sorted((r for r in group if r.game == g), key=lambda r: (r.seed, str(r.path))) for g in games}
            num_runs = max(len(v) for v in by_game.values())
            curve = np.full((len(grid), num_runs, len(games)), np.nan)
            final = np.full((num_runs, len(games)), np.nan)
            final_raw = np.full((num_runs, len(games)), np.nan)
            final_frames = np.zeros((num_runs, len(games)), dtype=np.int64)
            for g, game in enumerate(games):
                for r, run in enumerate(by_game[game]):
                    curve[:, r, g] = run.normalize(score_at(run.eval_curve, grid, run.trained_frames))
                    final_raw[r, g] = run.final_return
                    final[r, g] = run.normalize(run.final_return)
                    final_frames[r, g] = run.final_frames
            out[suite][label] = ScoreMatrices(label, suite, games, grid, curve, final, final_raw, final_frames,
                                              tuple(group))
    return out
