"""Checkpoints are complete-or-absent, the newest K are kept, and a partial one is never loaded."""

from __future__ import annotations

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


def _anonymous_rss_bytes() -> int:
    """This process's resident anonymous memory (Linux /proc; the page cache is not counted)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    pytest.skip("no RssAnon in /proc/self/status")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_a_mapped_replay_part_is_copied_in_without_a_second_copy_in_ram(tmp_path):
    """Resume maps the replay part (mmap=True): loading it adds no anonymous memory (reading it adds
    the whole buffer again: the 2x peak it avoids), and the buffer restored from it is identical."""
    shape = dict(capacity=6_000, num_envs=1, frame_shape=(84, 84), frame_dtype=torch.uint8, stack=4, n_step=3,
                 gamma=0.99, reward_clip=1.0, batch_size=32, device="cpu", seed=0)
    replay = ReplayBuffer(**shape)
    frames = np.random.default_rng(0).integers(0, 256, (400, 1, 84, 84), dtype=np.uint8)
    flags = np.zeros(1, dtype=bool)
    for step in range(400):
        replay.add(frames[step], flags | (step == 0), np.array([step % 6]), np.array([1.0]), flags, flags)
    save_checkpoint(tmp_path, 400, {"replay": replay.state_dict()})
    path = latest_checkpoint(tmp_path)
    frames_bytes = replay.state_dict()["frames"].nbytes  # 42 MB: above glibc's largest heap threshold
    expected_index = replay.sample().index.clone()  # the first draw after the saved state

    grown = {}
    for mmap in (False, True):
        before = _anonymous_rss_bytes()
        state = load_checkpoint(path, ["replay"], mmap=mmap)["replay"]
        state["frames"].sum()  # touch every page
        grown[mmap] = _anonymous_rss_bytes() - before
        restored = ReplayBuffer(**shape)
        restored.load_state_dict(state)
        del state
        assert torch.equal(restored.state_dict()["frames"], replay.state_dict()["frames"])
        assert torch.equal(restored.sample().index, expected_index)
    assert grown[False] > 0.9 * frames_bytes
    assert grown[True] < 0.1 * frames_bytes


def test_resume_loads_each_part_where_it_is_used(tmp_path, monkeypatch):
    """Trainer.restore loads the replay part mapped and on the CPU (the buffer copies it to its device),
    the trainer part on the CPU (torch.set_rng_state rejects a state mapped to a GPU) and the agent
    part on the run's device."""
    from tests.conftest import train_config
    from training import loop

    cfg = train_config(["env=cartpole", "agent=dqn", "agent.warmup_steps=100", "replay.capacity=1000",
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
    assert calls == {("trainer",): ("cpu", False), ("agent",): ("run device", False), ("replay",): ("cpu", True)}
