"""`scripts/gridcells.py train` and `figures` write their files; bad settings fail before any work."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from neuro.gridcells.config import load_gridcells_config

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "gridcells.py"
TINY = ["banino.lstm_units=8", "banino.bottleneck_units=16", "banino.place_cells=16", "banino.batch_size=2",
        "banino.sequence_steps=5", "banino.train_steps=3", "sorscher.hidden_units=16", "sorscher.place_cells=16",
        "sorscher.batch_size=2", "sorscher.sequence_steps=5", "sorscher.train_steps=3", "log_every_steps=1",
        "analysis.test_trajectories=20", "analysis.test_steps=10", "analysis.num_shuffles=3", "analysis.bins=10",
        "analysis.top_units=4", "pattern.bins=12", "pattern.place_sigma_m=0.15",
        "pattern.num_patterns=4", "pattern.iterations=5", "navigation.train_pairs=200", "navigation.test_pairs=50",
        "navigation.hidden_units=8", "navigation.train_steps=3", "navigation.batch_size=16", "dpi=40"]


def gridcells_main(argv: list[str]) -> int:
    spec = importlib.util.spec_from_file_location("gridcells_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


def test_train_then_figures_write_their_files(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert gridcells_main(["train", "--out", str(run), "--quiet", *TINY]) == 0
    summary = json.loads((run / "train.json").read_text())
    assert summary["banino"]["steps"] == summary["sorscher"]["steps"] == 3
    figs = tmp_path / "figs"
    assert gridcells_main(["figures", "--out", str(figs), f"run_dir={run}", *TINY]) == 0
    for name in ("rate_maps.png", "gridness.png", "decoding_error.png", "training.png", "pattern_formation.png",
                 "navigation.png", "gridcells.json", "gridcells_summary.json"):
        assert (figs / name).stat().st_size > 0, name
    study = json.loads((figs / "gridcells.json").read_text())
    for name in ("banino", "sorscher"):
        net = study["networks"][name]
        assert len(net["grid"]["gridness_60"]) == 16 and 0 <= net["grid"]["fraction_grid_like"] <= 1
        assert set(net["navigation"]) == {"network_code", "place_code"}
        assert net["steps"] == 3 and net["train_wall_s"] > 0
        assert net["place_loss_above_floor_trained_length"] > 0
        assert net["history"]["place_loss_above_floor"][-1] > 0
    assert set(study["pattern"]) >= {"unconstrained", "nonnegative", "optimal_wavelength_m"}
    summary = json.loads((figs / "gridcells_summary.json").read_text())
    assert "maps" not in summary["pattern"]["nonnegative"] and "top_sacs" not in summary["networks"]["banino"]
    assert summary["pattern"]["nonnegative"]["gridness_60"] == study["pattern"]["nonnegative"]["gridness_60"]


@pytest.mark.parametrize(("override", "message"), [
    ("models=[banino,grid]", "models must be a non-empty subset of ['banino', 'sorscher']"),
    ("banino.optimizer=sgd", "banino.optimizer must be one of ['adam', 'rmsprop']; got sgd"),
    ("banino.dropout=1.0", "banino.dropout must be in [0, 1); got 1.0"),
    ("sorscher.hidden_units=0", "sorscher.hidden_units must be > 0; got 0"),
    ("analysis.bins=4", "analysis.bins must be >= 8; got 4"),
])
def test_bad_settings_name_the_value_and_the_valid_choices(override: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        load_gridcells_config([override])


def test_presets() -> None:
    paper = load_gridcells_config(preset="paper")
    assert (paper.sorscher.hidden_units, paper.sorscher.place_cells, paper.banino.train_steps) == (4096, 512, 1_000_000)
    assert (paper.banino.optimizer, paper.banino.grad_clip_value) == ("rmsprop", 1e-5)
    with pytest.raises(ValueError, match="unknown preset 'gpu'; valid: \\['cpu', 'paper'\\]"):
        load_gridcells_config(preset="gpu")
