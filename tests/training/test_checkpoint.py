"""Checkpoints are complete-or-absent, the newest K are kept, and a partial one is never loaded."""

from __future__ import annotations

import pytest
import torch

from training.checkpoint import (
    COMPLETE_MARKER,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)


def test_round_trip_and_keep(tmp_path):
    for frames in (100, 200, 300):
        save_checkpoint(tmp_path, frames, {"agent": {"w": torch.full((3,), float(frames))}, "trainer": {"f": frames}},
                        keep=2)
    names = [p.name for p in list_checkpoints(tmp_path)]
    assert names == ["step-0000000000200", "step-0000000000300"]
    parts = load_checkpoint(latest_checkpoint(tmp_path))
    assert parts["trainer"]["f"] == 300
    assert torch.equal(parts["agent"]["w"], torch.full((3,), 300.0))


def test_partial_checkpoints_are_ignored(tmp_path):
    save_checkpoint(tmp_path, 100, {"trainer": {"f": 100}})
    root = tmp_path / "checkpoints"
    (root / ".tmp-step-0000000000200-123").mkdir()  # a kill during the write
    unmarked = root / "step-0000000000300"  # a directory without its COMPLETE marker
    unmarked.mkdir()
    torch.save({"f": 300}, unmarked / "trainer.pt")
    assert latest_checkpoint(tmp_path).name == "step-0000000000100"
    with pytest.raises(FileNotFoundError, match=COMPLETE_MARKER):
        load_checkpoint(unmarked)


def test_failed_write_leaves_previous_checkpoint(tmp_path):
    save_checkpoint(tmp_path, 100, {"trainer": {"f": 100}})

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        save_checkpoint(tmp_path, 200, {"trainer": {"f": Unpicklable()}})
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["step-0000000000100"]
    assert load_checkpoint(latest_checkpoint(tmp_path))["trainer"]["f"] == 100
