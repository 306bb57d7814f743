"""Published Atari scores shipped in `analysis/data/` (sources and protocols: `analysis/data/README.md`).

- `published_noop_scores.csv`: final per-game scores of DQN, C51, QR-DQN, IQN and Rainbow from the
  papers' tables (no-op starts, 200M frames, best agent). The DQN column is the one the C51 paper reports.
- `dopamine_cnn_training_curves.csv.gz`: Dopamine's per-iteration training returns (1M frames an
  iteration, 5 runs) under sticky actions, no no-op starts and the minimal action set (`env/protocol=dopamine`),
  drawn behind our sticky-action runs and compared with them (analysis/reproduction.py).
- `minatar_young_tian_dqn.csv`: Young & Tian's DQN on the five MinAtar games (30 runs; mean and SE of the moving
  average of the last 100 returns, every 50k frames to 5M), digitized from their figure
  (`scripts/digitize_curves.py`); every value carries its reading uncertainty.

`ReferenceCurve` is what the comparison and the report draw from either: a mean and a band at frames.
"""

from __future__ import annotations

import csv
import gzip
import io
import warnings
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from envs.games import GAMES, human_normalized_score

PUBLISHED_AGENTS = ("DQN", "C51", "QR-DQN", "IQN", "Rainbow")
PUBLISHED_PROTOCOL = "no-op starts (up to 30), 200M training frames, scores of the best agent as published"
DOPAMINE_PROTOCOL = ("sticky actions 0.25, no no-op starts, the minimal action set (env/protocol=dopamine); "
                     "average training return per 1M-frame iteration, 5 runs; Dopamine's QR-DQN, IQN and Rainbow use "
                     "3-step returns, its QR-DQN and Rainbow also prioritized replay (experiment=dopamine)")
YOUNG_TIAN_RUNS = 30
YOUNG_TIAN_WINDOW_EPISODES = 100  # their y axis: "moving average of returns over 100 episodes"
YOUNG_TIAN_PROTOCOL = ("MinAtar defaults (sticky actions 0.1, difficulty ramping, all 6 actions), Young & Tian's DQN "
                       "(examples/dqn.py, experiment=minatar); the moving average of the last 100 training returns, "
                       "mean and SE over 30 runs, read off their figure (img/learning_curves.gif, arXiv 1903.03176); "
                       "Seaquest as of minatar <= 1.0.10")
# Our agent names -> Dopamine's / the papers' names.
REFERENCE_AGENT_NAMES = {"dqn": "DQN", "c51": "C51", "qrdqn": "QR-DQN", "iqn": "IQN", "rainbow": "Rainbow"}


def _data_file(name: str) -> bytes:
    return resources.files(__package__).joinpath("data", name).read_bytes()


@dataclass(frozen=True)
class PublishedSource:
    agent: str
    title: str
    url: str


@cache
def _published_rows() -> tuple[dict[str, str], ...]:
    return tuple(csv.DictReader(io.StringIO(_data_file("published_noop_scores.csv").decode("utf-8"))))


def published_scores() -> dict[str, dict[str, float]]:
    """`{agent: {game: raw score}}` for the five published agents (Rainbow has 54 games)."""
    scores: dict[str, dict[str, float]] = {agent: {} for agent in PUBLISHED_AGENTS}
    for row in _published_rows():
        scores[row["agent"]][row["game"]] = float(row["noop_score"])
    return scores


def published_sources() -> dict[str, PublishedSource]:
    """The paper each agent's column comes from."""
    return {row["agent"]: PublishedSource(row["agent"], row["source"], row["url"]) for row in _published_rows()}


def published_hns_matrix(agent: str, games: tuple[str, ...] | None = None) -> tuple[tuple[str, ...], np.ndarray]:
    """The published agent's HNS as a one-run matrix `[1, G]` over `games` it has (default: all it has)."""
    if agent not in PUBLISHED_AGENTS:
        raise ValueError(f"unknown published agent '{agent}'; valid: {', '.join(PUBLISHED_AGENTS)}")
    scores = published_scores()[agent]
    kept = tuple(g for g in (games if games is not None else sorted(scores)) if g in scores and g in GAMES)
    hns = np.array([[human_normalized_score(g, scores[g]) for g in kept]], dtype=np.float64)
    return kept, hns


@dataclass(frozen=True)
class DopamineCurve:
    """Dopamine's training returns `returns[runs, T]` at `frames[T]` (iteration ends) for one agent and game."""

    agent: str
    game: str
    frames: np.ndarray
    returns: np.ndarray


def dopamine_game_name(game: str) -> str:
    """Dopamine spells games without underscores (`bank_heist` -> `bankheist`)."""
    return game.replace("_", "")


def dopamine_curves(games: set[str], agents: set[str]) -> dict[tuple[str, str], DopamineCurve]:
    """`{(game, agent): curve}` for our snake_case `games` and Dopamine agent names (`DQN`, `IQN`, ...)."""
    wanted = {dopamine_game_name(g): g for g in games}
    cells: dict[tuple[str, str], dict[tuple[int, int], tuple[int, float]]] = {}
    text = gzip.decompress(_data_file("dopamine_cnn_training_curves.csv.gz")).decode("utf-8")
    for row in csv.DictReader(io.StringIO(text)):
        game = wanted.get(row["game"])
        if game is None or row["agent"] not in agents:
            continue
        cell = cells.setdefault((game, row["agent"]), {})
        cell[(int(row["iteration"]), int(row["run"]))] = (int(row["frames_at_iteration_end"]),
                                                           float(row["training_return"]))
    curves = {}
    for (game, agent), cell in cells.items():
        frames_at = {it: frames for (it, _), (frames, _) in cell.items()}
        iterations = sorted(frames_at)
        runs = sorted({r for _, r in cell})
        column, row = {it: k for k, it in enumerate(iterations)}, {r: k for k, r in enumerate(runs)}
        returns = np.full((len(runs), len(iterations)), np.nan)
        for (it, run), (_, value) in cell.items():
            returns[row[run], column[it]] = value
        frames = np.array([frames_at[it] for it in iterations], dtype=np.int64)
        curves[(game, agent)] = DopamineCurve(agent, game, frames, returns)
    return curves


@dataclass(frozen=True)
class DigitizedCurve:
    """A curve read off a published figure at `frames[T]`: the mean over `runs` runs, its SE (`se_upper_bound`
    where the band hid under the line and the SE is at most that), the reading uncertainty of each value, and
    `hidden` where another curve covered it and the value is interpolated."""

    agent: str
    game: str
    frames: np.ndarray
    mean: np.ndarray
    se: np.ndarray
    se_upper_bound: np.ndarray
    read_uncertainty: np.ndarray
    hidden: np.ndarray
    runs: int


def young_tian_curves(games: set[str] | None = None) -> dict[str, DigitizedCurve]:
    """`{game: curve}` of Young & Tian's DQN (with replay) digitized from their figure, for `games` (default all
    five; our snake_case names)."""
    columns: dict[str, dict[str, list[str]]] = {}
    text = _data_file("minatar_young_tian_dqn.csv").decode("utf-8")
    for row in csv.DictReader(io.StringIO(text)):
        if games is None or row["game"] in games:
            cell = columns.setdefault(row["game"], {})
            for key, value in row.items():
                cell.setdefault(key, []).append(value)
    curves = {}
    for game, cell in columns.items():
        floats = {k: np.array(cell[k], dtype=np.float64) for k in ("return_mean", "return_se", "read_uncertainty")}
        curves[game] = DigitizedCurve(
            cell["agent"][0], game, np.array(cell["frames"], dtype=np.int64), floats["return_mean"],
            floats["return_se"], np.array(cell["se_upper_bound"]) == "true", floats["read_uncertainty"],
            np.array(cell["hidden"]) == "true", YOUNG_TIAN_RUNS)
    return curves


@dataclass(frozen=True)
class ReferenceCurve:
    """A reference as the comparison uses it: `mean`, `low` and `high` at `frames[T]` from `runs[T]` runs;
    `read_uncertainty[T]` is zero for numbers published as numbers and the reading error for a digitized figure.
    `moving_average_episodes` says what the reference averages, so that ours is computed the same way: 0, the
    mean return of the episodes that ended in each iteration (Dopamine's); W > 0, at each of `frames` the mean of
    the last W episodes, averaged over the iteration's points (a figure of a moving average)."""

    name: str
    source: str
    frames: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    runs: np.ndarray
    read_uncertainty: np.ndarray
    moving_average_episodes: int = 0

    @property
    def digitized(self) -> bool:
        return bool(np.any(self.read_uncertainty > 0))

    def window(self, start: int, end: int) -> tuple[float, float, float, float, int]:
        """(low, high, mean, read uncertainty, runs) averaged over the points at frames in (start, end] (runs: the
        fewest); NaNs and 0 runs unless the curve reaches `end` and has a point in the window."""
        inside = (self.frames > start) & (self.frames <= end) & np.isfinite(self.mean)
        if not inside.any() or self.frames[-1] < end:
            return (float("nan"),) * 4 + (0,)
        low, high, mean, read = (float(v[inside].mean()) for v in (self.low, self.high, self.mean,
                                                                    self.read_uncertainty))
        return low, high, mean, read, int(self.runs[inside].min())


def dopamine_reference(curve: DopamineCurve) -> ReferenceCurve:
    """Dopamine's runs as a band: min–max and mean over its runs at each iteration end."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an iteration no run reached: NaN, left out by `window`
        return ReferenceCurve(f"Dopamine {curve.agent}", "dopamine", curve.frames, np.nanmean(curve.returns, 0),
                              np.nanmin(curve.returns, 0), np.nanmax(curve.returns, 0),
                              np.isfinite(curve.returns).sum(0), np.zeros(len(curve.frames)))


def young_tian_reference(curve: DigitizedCurve) -> ReferenceCurve:
    """The digitized 30-run mean ± (one between-run SD + the reading uncertainty), SD = SE·√runs.

    Only the mean and its SE are published, not the runs, so a min–max band like Dopamine's cannot be formed.
    ±1 SD covers about 68% of runs (normal), close to what the min–max of Dopamine's 5 runs covers of a new run
    in expectation, (n−1)/(n+1) = 4/6; the reading uncertainty widens it on both sides so that an error of
    the digitizer cannot turn `inside` into `below` or `above`. Where the SE band hid under the line
    (`se_upper_bound`), its upper bound is used, which widens the band."""
    half = curve.se * np.sqrt(curve.runs) + curve.read_uncertainty
    return ReferenceCurve(f"Young & Tian {curve.agent} (digitized)", "young_tian_figure", curve.frames, curve.mean,
                          curve.mean - half, curve.mean + half, np.full(len(curve.frames), curve.runs),
                          curve.read_uncertainty, YOUNG_TIAN_WINDOW_EPISODES)
