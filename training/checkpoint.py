"""Atomic, complete-or-absent checkpoints in `<run_dir>/checkpoints/`.

A checkpoint is a directory `step-<frames>` holding one `torch.save` file per part (agent, replay,
trainer). It is written under a temporary name, every file fsynced, a `COMPLETE` marker written last,
and then renamed into place, so a kill at any moment leaves either the whole checkpoint or none.
A `FORMAT` file holds the layout version of the parts (`CHECKPOINT_FORMAT`); a checkpoint without one
was written before versions were recorded (format 1). A resume checks it before loading anything.
Large parts (a 7 GB replay) on the CPU are streamed by `torch.save` straight from their storage: no second
copy. A GPU replay is not: `torch.save` copies each device storage to host memory whole before writing
it, so a checkpoint of a 1M-transition replay on a GPU briefly needs ~7 GB of host RAM.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch


class CheckpointError(RuntimeError):
    """A checkpoint cannot be written (disk full, unwritable dir) or does not fit the run loading it."""


CHECKPOINT_DIR = "checkpoints"
COMPLETE_MARKER = "COMPLETE"
FORMAT_FILE = "FORMAT"
# The layout of the parts this code writes. Format 1 (no FORMAT file): the parts before the τ generator
# of IQN/FQF moved from the head to the agent. Format 2: agent, replay (β set by the trainer) and
# trainer parts as `Trainer.checkpoint_parts` writes them today. Bump it whenever a part's layout
# changes, and list the older formats that still load as they are in READABLE_FORMATS.
CHECKPOINT_FORMAT = 2
READABLE_FORMATS = (1, 2)  # format 1 loads where the agent's state has not changed (see checkpoint_mismatch)
_PREFIX = "step-"
_TMP_PREFIX = ".tmp-"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(run_dir: Path, frames: int, parts: dict[str, Any], keep: int = 2) -> Path:
    """Write `parts` (name → picklable state) as checkpoint `frames`; keep the newest `keep` ones."""
    root = Path(run_dir) / CHECKPOINT_DIR
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{_PREFIX}{frames:013d}"
    tmp = root / f"{_TMP_PREFIX}{final.name}-{os.getpid()}"
    try:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        for name, state in parts.items():
            with open(tmp / f"{name}.pt", "wb") as f:
                torch.save(state, f)
                f.flush()
                os.fsync(f.fileno())
        with open(tmp / FORMAT_FILE, "w") as f:
            f.write(f"{CHECKPOINT_FORMAT}\n")
            f.flush()
            os.fsync(f.fileno())
        with open(tmp / COMPLETE_MARKER, "w") as f:
            f.write(f"{frames}\n")
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(tmp)
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
        _fsync_dir(root)
    except OSError as error:
        shutil.rmtree(tmp, ignore_errors=True)
        previous = latest_checkpoint(run_dir)
        kept = f"the previous checkpoint {previous} is kept" if previous else "no earlier checkpoint exists"
        raise CheckpointError(f"could not write checkpoint {final}: {error.strerror or error} "
                              f"(errno {error.errno}); {kept}. Free space or choose another runs_root.") from error
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first (temporary and unmarked directories are ignored)."""
    root = Path(run_dir) / CHECKPOINT_DIR
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.name.startswith(_PREFIX) and (p / COMPLETE_MARKER).exists()]
    return sorted(found, key=lambda p: p.name)


def remove_partial_checkpoints(run_dir: Path) -> list[Path]:
    """Delete temporary checkpoint dirs left by a killed writer (one run dir has one writer at a time)."""
    root = Path(run_dir) / CHECKPOINT_DIR
    if not root.is_dir():
        return []
    partial = [p for p in root.iterdir() if p.name.startswith(_TMP_PREFIX)
               or (p.name.startswith(_PREFIX) and not (p / COMPLETE_MARKER).exists())]
    for path in partial:
        shutil.rmtree(path, ignore_errors=True)
    return partial


def checkpoint_format(path: Path) -> int | str:
    """The format version of checkpoint `path` (1 when it has no FORMAT file; its raw text if unreadable)."""
    marker = Path(path) / FORMAT_FILE
    if not marker.exists():
        return 1
    text = marker.read_text().strip()
    return int(text) if text.isdigit() else text


def _way_out(path: Path) -> str:
    run_dir = Path(path).parent.parent
    return (f"to start this run over, rerun with trainer.resume=false (the old run is moved aside to "
            f"{run_dir}.replaced-<time>), or resume it with the code that wrote it")


def check_checkpoint_format(path: Path) -> int:
    """The format of checkpoint `path`; CheckpointError before anything is loaded when this code cannot read it."""
    found = checkpoint_format(path)
    if found not in READABLE_FORMATS:
        raise CheckpointError(f"checkpoint {path} has format {found!r}, but this code writes format "
                              f"{CHECKPOINT_FORMAT} and reads formats {', '.join(map(str, READABLE_FORMATS))}; "
                              f"{_way_out(path)}")
    return found


def checkpoint_mismatch(path: Path, found_format: int, error: BaseException) -> CheckpointError:
    """The error for a checkpoint whose parts do not load into this run (another config, or an older
    format whose layout changed since): names the format, the failure and the way out."""
    if found_format != CHECKPOINT_FORMAT:
        what = (f"was written in checkpoint format {found_format} (this code writes format {CHECKPOINT_FORMAT}) "
                "and its state does not load into this code's agent/replay")
    else:
        what = "does not fit this run's config"
    return CheckpointError(f"checkpoint {path} {what}: {type(error).__name__}: {error}; {_way_out(path)}")


def check_checkpoint_agent(path: Path, trainer_state: dict[str, Any], agent_name: str, head_kind: str) -> None:
    """Raise CheckpointError if checkpoint `path` was written by another agent than the one loading it."""
    saved = (trainer_state.get("agent_name"), trainer_state.get("head_kind"))
    if saved != (agent_name, head_kind):
        raise CheckpointError(f"checkpoint {path} was written by agent '{saved[0]}' (head {saved[1]}), but this run's "
                              f"config is agent '{agent_name}' (head {head_kind}); a checkpoint only loads into "
                              "the agent that wrote it")


def latest_checkpoint(run_dir: Path) -> Path | None:
    checkpoints = list_checkpoints(run_dir)
    return checkpoints[-1] if checkpoints else None


def load_checkpoint(path: Path, parts: list[str] | None = None, map_location: str | torch.device = "cpu",
                    mmap: bool = False) -> dict:
    """Load the named parts (all when None) of a complete checkpoint directory.

    mmap: map the files into memory instead of reading them (`torch.load(mmap=True)`): the tensors
    are then backed by the page cache, which the kernel can drop under memory pressure, instead of
    by anonymous memory. Meant for a part that is copied into preallocated storage right away and
    then dropped (the replay: reading a 7 GB replay would hold a second copy of the buffer in RAM
    while it is copied in). Keep no reference to a mapped tensor: it reads a file that a later
    checkpoint rotation deletes.
    """
    path = Path(path)
    if not (path / COMPLETE_MARKER).exists():
        raise FileNotFoundError(f"{path} is not a complete checkpoint (no {COMPLETE_MARKER} marker)")
    names = parts if parts is not None else [p.stem for p in path.glob("*.pt")]
    return {name: torch.load(path / f"{name}.pt", map_location=map_location, weights_only=False, mmap=mmap)
            for name in names}
