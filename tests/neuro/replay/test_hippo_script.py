"""`scripts/hippocampal_replay.py figures` writes its figures and JSON on a small config; bad settings fail
before work."""

from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path

import pytest

from neuro.replay.config import load_replay_config
from neuro.replay.figures import FIGURES

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "hippocampal_replay.py"
SMALL = ["dyna.num_runs=2", "dyna.num_episodes=6", "dyna.planning_steps=[0,5]", "mattar_daw.num_simulations=2",
         "mattar_daw.evb_simulations=1", "mattar_daw.num_simulations_other=1", "mattar_daw.event_simulations=1",
         "mattar_daw.num_shuffles=40",
         "mattar_daw.num_episodes=4", "mattar_daw.strategies=[none,evb,imagination]", "reward_change.num_simulations=2",
         "reward_change.episodes_before=4", "reward_change.episodes_after=2", "liu.num_bins=1200",
         "liu.num_events=20", "liu.num_permutations=20", "dpi=40"]


def replay_main(argv: list[str]) -> int:
    spec = importlib.util.spec_from_file_location("replay_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


def test_figures_writes_every_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert replay_main(["figures", "--out", str(tmp_path), *SMALL]) == 0
    for name in FIGURES:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    data = json.loads((tmp_path / "replay.json").read_text())
    assert set(data) == {"dyna", "mattar_daw", "reward_change", "liu"}
    assert set(data["reward_change"]["scales"]) == {"1", "4", "0"}
    assert set(data["dyna"]["planning"]) == {"0", "5"} and len(data["dyna"]["planning"]["0"]["mean_steps"]) == 6
    assert set(data["mattar_daw"]["learning"]) == {"none", "evb", "imagination"}
    assert set(data["mattar_daw"]["events"]) == {"need_sr", "need_uniform_random_start"}
    assert set(data["mattar_daw"]["learning_softmax"]) == {"none", "random"}
    assert data["mattar_daw"]["learning"]["none"]["num_simulations"] == 2
    assert data["mattar_daw"]["learning"]["evb"]["num_simulations"] == 1
    assert "not_significant" in "".join(data["mattar_daw"]["events"]["need_sr"])
    assert set(data["liu"]["conditions"]) == {"movie", "imagination", "imagination_after_reward"}
    assert "episodes to near-optimal" in capsys.readouterr().out


def test_bad_settings_fail_naming_the_key_and_choices(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        replay_main(["figures"])
    assert "figures needs --out DIR" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"mattar_daw.strategies must be a non-empty list of none, .*\['dreams'\]"):
        load_replay_config(["mattar_daw.strategies=[evb,dreams]"])
    with pytest.raises(ValueError, match="mattar_daw.learning_policy must be one of greedy, softmax; got eps"):
        load_replay_config(["mattar_daw.learning_policy=eps"])
    with pytest.raises(ValueError, match="dyna.alpha must be in"):
        load_replay_config(["dyna.alpha=0"])
    with pytest.raises(Exception, match="dyna.num_run"):
        replay_main(["figures", "--out", str(tmp_path), "dyna.num_run=3"])
    assert not any(tmp_path.iterdir())


def test_the_study_does_not_shadow_the_agents_replay_buffer() -> None:
    import neuro.replay
    import replay

    root = SCRIPT.parents[1]
    assert Path(replay.__file__).resolve().parent == root / "replay"
    assert Path(neuro.replay.__file__).resolve().parent == root / "neuro" / "replay"
    assert hasattr(importlib.import_module("replay.buffer"), "__file__")
    # `python scripts/X.py` puts scripts/ first on sys.path: a script named like a package would shadow it
    # for every other script (scripts/replay.py did, for reproduce.py and bench.py)
    packages = {p.parent.name for p in root.glob("*/__init__.py")}
    assert not packages & {p.stem for p in (root / "scripts").glob("*.py")}
