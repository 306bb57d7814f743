"""The 57-game Atari registry: snake_case names, ale-py ROM ids, random and human reference scores.

Scores come from `envs/data/atari57_random_human.csv` (DQN Zoo's `atari_data.py`; human = "human_at30",
measured with 1-30 no-op starts and the 108k-frame cap), shipped inside the package.
Subsets: `atari26` = Atari-100k (Kaiser et al. 2020); `atari5` = Aitchison et al. (ICML 2023), whose
regression estimates the 57-game median from these five.
"""

from __future__ import annotations

import csv
import difflib
from dataclasses import dataclass
from importlib import resources

import numpy as np
from ale_py import roms


@dataclass(frozen=True)
class Game:
    """One Atari game: registry `name`, ale-py `rom_id`, and the random/human reference scores."""

    name: str
    rom_id: str
    random: float
    human: float


# Registry names that differ from ale-py's ROM ids (none in ale-py 0.12.1; kept so a rename is one line).
_ROM_ID_OVERRIDES: dict[str, str] = {}


def _load_games() -> dict[str, Game]:
    """Read the shipped CSV and check every ROM id against the installed ale-py."""
    text = resources.files(__package__).joinpath("data", "atari57_random_human.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    available = set(roms.get_all_rom_ids())
    games = {}
    for row in rows:
        name = row["game"]
        rom_id = _ROM_ID_OVERRIDES.get(name, name)
        if rom_id not in available:
            raise RuntimeError(f"game '{name}': ROM id '{rom_id}' is not shipped by the installed ale-py")
        games[name] = Game(name, rom_id, float(row["random"]), float(row["human"]))
    if len(games) != 57:
        raise RuntimeError(f"expected 57 games in the registry CSV, found {len(games)}")
    return games


GAMES: dict[str, Game] = _load_games()

SUBSETS: dict[str, tuple[str, ...]] = {
    "atari57": tuple(GAMES),
    "atari26": (
        "alien",
        "amidar",
        "assault",
        "asterix",
        "bank_heist",
        "battle_zone",
        "boxing",
        "breakout",
        "chopper_command",
        "crazy_climber",
        "demon_attack",
        "freeway",
        "frostbite",
        "gopher",
        "hero",
        "jamesbond",
        "kangaroo",
        "krull",
        "kung_fu_master",
        "ms_pacman",
        "pong",
        "private_eye",
        "qbert",
        "road_runner",
        "seaquest",
        "up_n_down",
    ),  # Atari-100k
    "atari5": ("battle_zone", "double_dunk", "name_this_game", "phoenix", "qbert"),
}


def get_game(name: str) -> Game:
    """Look a game up by its snake_case name; an unknown name fails listing the close matches."""
    game = GAMES.get(name)
    if game is not None:
        return game
    close = difflib.get_close_matches(name, GAMES, n=3, cutoff=0.6)
    hint = f"; did you mean: {', '.join(close)}?" if close else ""
    raise ValueError(f"unknown game '{name}'{hint} (valid: {', '.join(GAMES)})")


def human_normalized_score(game: str, score: float | np.ndarray) -> float | np.ndarray:
    """HNS = (score - random) / (human - random): 0 = random play, 1 = human. Elementwise on arrays."""
    g = get_game(game)
    hns = (np.asarray(score, dtype=np.float64) - g.random) / (g.human - g.random)
    return float(hns) if hns.ndim == 0 else hns
