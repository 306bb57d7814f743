"""The path-integration networks: shapes, the loss by hand, resumption, and path-integration error that falls
with training on a short run (a small Sorscher network with Gaussian place cells: the fastest to learn)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from neuro.gridcells.config import load_gridcells_config
from neuro.gridcells.models import soft_cross_entropy, target_entropy
from neuro.gridcells.training import build_task, load_trained, make_batch, motion_params, train
from neuro.gridcells.trajectories import simulate

TINY = ["banino.lstm_units=16", "banino.bottleneck_units=24", "banino.place_cells=32", "banino.batch_size=4",
        "banino.sequence_steps=10", "sorscher.hidden_units=24", "sorscher.place_cells=32", "sorscher.batch_size=4",
        "sorscher.sequence_steps=10", "log_every_steps=5", "checkpoint_every_steps=5"]


def test_soft_cross_entropy_by_hand() -> None:
    logits = torch.tensor([[0.0, np.log(3.0)]])  # softmax (1/4, 3/4)
    targets = torch.tensor([[0.5, 0.5]])
    assert float(soft_cross_entropy(logits, targets)) == pytest.approx(-0.5 * np.log(0.25) - 0.5 * np.log(0.75))


def test_target_entropy_is_the_floor_of_the_cross_entropy() -> None:
    targets = torch.tensor([[0.0, 0.25, 0.75]])  # a DoG target has one cell at exactly 0
    by_hand = -0.25 * np.log(0.25) - 0.75 * np.log(0.75)
    assert float(target_entropy(targets)) == pytest.approx(by_hand)
    exact = torch.tensor([[-30.0, np.log(0.25), np.log(0.75)]])
    assert float(soft_cross_entropy(exact, targets) - target_entropy(targets)) == pytest.approx(0.0, abs=1e-6)
    uniform = float(soft_cross_entropy(torch.zeros(1, 3), targets) - target_entropy(targets))
    assert uniform == pytest.approx(np.log(3) - by_hand)  # KL(y ‖ uniform) = ln N − H(y)


@pytest.mark.parametrize("name", ["banino", "sorscher"])
def test_networks_map_inputs_to_code_and_readouts(name: str) -> None:
    cfg = load_gridcells_config(TINY)
    task, net = build_task(name, cfg)
    batch = make_batch(task, simulate(3, 7, motion_params(cfg), np.random.default_rng(0)))
    code, place, hd = net(batch.inputs, batch.init)
    units = 24
    assert code.shape == (3, 7, units) and place.shape == (3, 7, 32)
    if name == "banino":
        assert batch.inputs.shape == (3, 7, 3) and hd.shape == (3, 7, 12) and batch.init.shape == (3, 32 + 12)
    else:
        assert batch.inputs.shape == (3, 7, 2) and hd is None and (code >= 0).all()  # ReLU: nonnegative units
    torch.testing.assert_close(batch.place.sum(-1), torch.ones(3, 7))


def test_training_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    cfg = load_gridcells_config([*TINY, "sorscher.train_steps=5"])
    first = train("sorscher", cfg, tmp_path, progress=False)
    cfg = load_gridcells_config([*TINY, "sorscher.train_steps=10"])
    second = train("sorscher", cfg, tmp_path, progress=False)
    assert (first["steps"], second["steps"]) == (5, 10)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["frames"] for r in records] == [5, 10]
    assert all(0 < r["train/place_loss_above_floor"] < r["train/loss"] for r in records)
    _, net, state = load_trained("sorscher", cfg, tmp_path)
    assert state["step"] == 10 and not net.training
    finished = train("sorscher", cfg, tmp_path, progress=False)  # a rerun of a finished run trains nothing
    assert finished["steps"] == 10 and finished["final_loss"] == second["final_loss"] == records[-1]["train/loss"]
    assert finished["final_decoding_error_cm"] == second["final_decoding_error_cm"]


def test_path_integration_error_falls_on_a_short_run(tmp_path: Path) -> None:
    """Measured: 98 cm (chance) at the first log → 36 cm after 300 steps of 16 trajectories (4 s of one core)."""
    cfg = load_gridcells_config(["sorscher.hidden_units=64", "sorscher.place_cells=64", "sorscher.dog=false",
                                 "sorscher.place_sigma_m=0.2", "sorscher.batch_size=16", "sorscher.sequence_steps=10",
                                 "sorscher.train_steps=300", "log_every_steps=20", "checkpoint_every_steps=1000"])
    train("sorscher", cfg, tmp_path, progress=False)
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    errors = [json.loads(line)["train/decoding_error_cm"] for line in lines]
    assert np.mean(errors[-3:]) < 0.7 * np.mean(errors[:2])
