"""Published Atari scores shipped in `analysis/data/` (sources and protocols: `analysis/data/README.md`).

- `published_noop_scores.csv`: final per-game scores of DQN, C51, QR-DQN, IQN and Rainbow from the
  papers' tables (no-op starts, 200M frames, best agent). The DQN column is the one the C51 paper reports.
- `dopamine_cnn_training_curves.csv.gz`: Dopamine's per-iteration training returns (1M frames an
  iteration, 5 runs) under sticky actions, no no-op starts and the minimal action set (`env/protocol=dopamine`),
  drawn behind our sticky-action runs and compared with them (analysis/reproduction.py).
"""

from __future__ import annotations

import csv
import gzip
import io
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
