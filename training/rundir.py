"""The run directory's small files: `status.json` and the resolved `config.yaml`.

`status.json` is how a user, a sweep summary and the report learn a run's fate: submitit marks a job
that raised as completed, so the run itself writes `running`, `done`, `preempted` or `failed` (with the
error). Both files are replaced atomically.
"""

from __future__ import annotations

import json
import os
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
