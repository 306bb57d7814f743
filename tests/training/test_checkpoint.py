"""Checkpoints are complete-or-absent, the newest K are kept, and a partial one is never loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from replay.buffer import ReplayBuffer
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


_MAPPED_LOAD_SCRIPT = """
import json, sys
from pathlib import Path
import torch
from training.checkpoint import load_checkpoint

def anonymous_rss_bytes():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024

before = anonymous_rss_bytes()
state = load_checkpoint(Path(sys.argv[1]), ["replay"], mmap=sys.argv[2] == "mmap")["replay"]
total = int(state["frames"].sum())  # touch every page
print(json.dumps({"grown": anonymous_rss_bytes() - before, "total": total}))
"""


def _replay_shape() -> dict:
    return dict(capacity=6_000, num_envs=1, frame_shape=(84, 84), frame_dtype=torch.uint8, stack=4, n_step=3,
                gamma=0.99, reward_clip=1.0, batch_size=32, device="cpu", seed=0)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_a_mapped_replay_part_is_copied_in_without_a_second_copy_in_ram(tmp_path):
    """Resume maps the replay part (mmap=True): loading it adds no anonymous memory, where reading it
    adds the whole buffer again (the 2x peak it avoids); the buffer restored from it is identical.
    Memory is measured in a fresh process, so no allocator history of this one blurs it."""
    replay = ReplayBuffer(**_replay_shape())
    frames = np.random.default_rng(0).integers(0, 256, (400, 1, 84, 84), dtype=np.uint8)
    flags = np.zeros(1, dtype=bool)
    for step in range(400):
        replay.add(frames[step], flags | (step == 0), np.array([step % 6]), np.array([1.0]), flags, flags)
    save_checkpoint(tmp_path, 400, {"replay": replay.state_dict()})
    path = latest_checkpoint(tmp_path)
    frames_bytes = replay.state_dict()["frames"].nbytes  # 42 MB
    expected_total = int(replay.state_dict()["frames"].sum())
    expected_index = replay.sample().index.clone()  # the first draw after the saved state

    grown = {}
    for mode in ("read", "mmap"):
        out = subprocess.run([sys.executable, "-c", _MAPPED_LOAD_SCRIPT, str(path), mode], check=True,
                             capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2]).stdout
        result = json.loads(out.strip().splitlines()[-1])
        assert result["total"] == expected_total
        grown[mode] = result["grown"]
        restored = ReplayBuffer(**_replay_shape())
        restored.load_state_dict(load_checkpoint(path, ["replay"], mmap=mode == "mmap")["replay"])
        assert torch.equal(restored.state_dict()["frames"], replay.state_dict()["frames"])
        assert torch.equal(restored.sample().index, expected_index)
    assert grown["read"] > 0.9 * frames_bytes, grown
    assert grown["mmap"] < 0.1 * frames_bytes, grown


def test_resume_loads_each_part_where_it_is_used(tmp_path, monkeypatch):
    """Trainer.restore loads every part on the CPU, never on the run's device (torch.set_rng_state
    rejects a state mapped to a GPU; a non-capturable optimizer's `step` belongs on the CPU), and the
    replay part mapped (the buffer copies it into its own storage)."""
    from tests.conftest import train_config
    from training import loop

    cfg = train_config(["experiment=cartpole", "agent=dqn", "agent.warmup_steps=100", "replay.capacity=1000",
                        "trainer.total_frames=300", "trainer.progress=false", "logger.tensorboard=false",
                        f"runs_root={tmp_path}"])
    assert loop.Trainer(cfg).train() == "done"
    restored = loop.Trainer(cfg)
    calls = {}

    def spy(path, parts=None, map_location="cpu", mmap=False):
        # On a CPU-only machine the run's device is "cpu" too: tell it apart by identity.
        where = "run device" if map_location is restored.device else str(map_location)
        calls[tuple(parts)] = (where, mmap)
        return load_checkpoint(path, parts, map_location=map_location, mmap=mmap)

    monkeypatch.setattr(loop, "load_checkpoint", spy)
    restored.restore(latest_checkpoint(Path(cfg.run_dir)))
    assert calls == {("trainer",): ("cpu", False), ("agent",): ("cpu", False), ("replay",): ("cpu", True)}
