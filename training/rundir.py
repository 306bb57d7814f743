"""The run directory's small files: `status.json` and the resolved `config.yaml`.

`status.json` is how a user, a sweep summary and the report learn a run's fate: submitit marks a job
that raised as completed, so the run itself writes `running`, `done`, `preempted` or `failed` (with the
error). Both files are replaced atomically.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

STATUS_FILE = "status.json"
CONFIG_FILE = "config.yaml"


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` via a temporary file, fsync and rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_status(run_dir: Path, status: str, **details: Any) -> None:
    """Record the run's state (`running`, `done`, `preempted`, `failed`) with details such as `error`."""
    record = {"status": status, "time": time.time(), "pid": os.getpid(), **details}
    atomic_write_text(Path(run_dir) / STATUS_FILE, json.dumps(record, indent=2) + "\n")


def read_status(run_dir: Path) -> dict[str, Any] | None:
    path = Path(run_dir) / STATUS_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


HYDRA_FILES = (".hydra", "train.log", "evaluate.log")


class RunDirError(RuntimeError):
    """The run directory cannot be created or written."""


def prepare_run_dir(run_dir: Path) -> None:
    """Create `run_dir` and prove it writable now, before any env or network is built."""
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / ".write-test", "ok\n")
        (run_dir / ".write-test").unlink()
    except OSError as error:
        raise RunDirError(f"cannot write the run directory {run_dir}: {error.strerror or error}; "
                          "set runs_root to a writable location with free space") from error


def move_run_aside(run_dir: Path) -> Path | None:
    """Move a previous run's files out of `run_dir` into `<run_dir>.replaced-<time>` (never delete them).

    For `trainer.resume=false`: the new run starts empty, the old one stays readable beside it. What
    Hydra wrote for the current launch (`HYDRA_FILES`) stays. Returns the new location, or None.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return None
    entries = [p for p in run_dir.iterdir() if p.name not in HYDRA_FILES]
    if not entries:
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = run_dir.with_name(f"{run_dir.name}.replaced-{stamp}")
    suffix = 1
    while target.exists():
        target = run_dir.with_name(f"{run_dir.name}.replaced-{stamp}-{suffix}")
        suffix += 1
    target.mkdir(parents=True)
    for entry in entries:
        os.replace(entry, target / entry.name)
    return target


def remove_unused_run_dir(run_dir: Path, runs_root: Path) -> None:
    """Delete a run dir that holds only what Hydra wrote before the run failed to start.

    Hydra creates the run dir before the config is checked; a rejected config must not leave it
    behind. A dir with anything else in it (a previous run's checkpoints) is kept. Parents left empty
    are removed up to `runs_root`.
    """
    run_dir, runs_root = Path(run_dir).resolve(), Path(runs_root).resolve()
    if not run_dir.is_dir() or any(p.name not in HYDRA_FILES for p in run_dir.iterdir()):
        return
    shutil.rmtree(run_dir)
    parent = run_dir.parent
    while parent != runs_root.parent and runs_root in (parent, *parent.parents) and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent
