"""The game registry: CSV-backed scores, ROM ids, subsets, name errors, human-normalized scores."""

import csv
from pathlib import Path

import numpy as np
import pytest
from ale_py import roms

from envs import GAMES, SUBSETS, get_game, human_normalized_score

CSV = Path(__file__).parents[2] / "envs" / "data" / "atari57_random_human.csv"


def _csv_rows() -> list[dict]:
    with CSV.open() as f:
        return list(csv.DictReader(f))


def test_registry_matches_csv_and_roms():
    rows = _csv_rows()
    assert len(rows) == len(GAMES) == 57
    rom_ids = set(roms.get_all_rom_ids())
    for row in rows:
        game = get_game(row["game"])
        expected = (row["game"], float(row["random"]), float(row["human"]))
        assert (game.name, game.random, game.human) == expected
        assert game.rom_id in rom_ids


def test_random_scores_zero_human_scores_one():
    for row in _csv_rows():
        assert human_normalized_score(row["game"], float(row["random"])) == pytest.approx(0.0, abs=1e-12)
        assert human_normalized_score(row["game"], float(row["human"])) == pytest.approx(1.0)


def test_hand_computed_values():
    # pong: random -20.7, human 14.6 -> (21 + 20.7) / 35.3; breakout: random 1.7, human 30.5.
    assert human_normalized_score("pong", 21.0) == pytest.approx(41.7 / 35.3)
    assert human_normalized_score("pong", 0) == pytest.approx(20.7 / 35.3)
    assert human_normalized_score("breakout", 400.0) == pytest.approx(398.3 / 28.8)
    assert isinstance(human_normalized_score("pong", 21), float)


def test_arrays_elementwise():
    scores = np.array([[1.7, 30.5], [400.0, -1.0]])
    hns = human_normalized_score("breakout", scores)
    assert isinstance(hns, np.ndarray) and hns.shape == (2, 2)
    np.testing.assert_allclose(hns, (scores - 1.7) / 28.8)


def test_subsets():
    assert {k: len(v) for k, v in SUBSETS.items()} == {"atari57": 57, "atari26": 26, "atari5": 5}
    for names in SUBSETS.values():
        assert len(set(names)) == len(names)
        assert set(names) <= set(GAMES)
    assert set(SUBSETS["atari5"]) == {"battle_zone", "double_dunk", "name_this_game", "phoenix", "qbert"}


def test_unknown_game_suggests_close_matches():
    with pytest.raises(ValueError, match="unknown game 'brekout'; did you mean: breakout") as err:
        get_game("brekout")
    assert "valid: alien, amidar" in str(err.value)
    with pytest.raises(ValueError, match="unknown game 'MsPacman'"):
        human_normalized_score("MsPacman", 1.0)
