"""A run's `metrics.jsonl` in fixed frame windows: the training episodes that ended in each window and the
logged scalars as they stood at its end, for diagnosing how a run learns (`scripts/run_windows.py`).

Window k covers frames (k·W, (k+1)·W] and is labelled by its end, (k+1)·W, the convention of
`analysis.reproduction.iteration_means`. A scalar such as `q/sd` is logged every `trainer.log_period_frames`
as the mean over that period, so its value at a window's end is the last record at or before that end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from analysis.runs import TRAIN_TAG
from training.logging import METRICS_FILE, read_metrics

__all__ = ["Window", "metric_windows"]


@dataclass(frozen=True)
class Window:
    """One window of a run: its end in frames, the episodes that ended in it and their mean return (NaN if
    none), and each asked-for tag's last value at or before `end_frames` (NaN if not logged by then)."""

    end_frames: int
    episodes: int
    episode_return_mean: float
    tags: dict[str, float]


def metric_windows(run_dir: Path, window_frames: int, tags: Sequence[str] = ()) -> list[Window]:
    """The windows of `run_dir`'s metrics from the first to the one holding its last record; a torn line
    (a killed writer) is skipped, and a null value (a non-finite scalar) does not replace an earlier one."""
    if window_frames <= 0:
        raise ValueError(f"window_frames must be > 0, got {window_frames}")
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: not a run directory, or the run has not logged yet")
    records = [r for r in read_metrics(run_dir) if isinstance(r, dict) and "frames" in r]
    records.sort(key=lambda r: int(r["frames"]))
    if not records:
        return []
    last_window = (max(int(records[-1]["frames"]), 1) - 1) // window_frames
    windows, current = [], {tag: math.nan for tag in tags}
    cursor = 0
    for k in range(last_window + 1):
        end = (k + 1) * window_frames
        returns = []
        while cursor < len(records) and int(records[cursor]["frames"]) <= end:
            record = records[cursor]
            if record.get(TRAIN_TAG) is not None:
                returns.append(float(record[TRAIN_TAG]))
            for tag in tags:
                if record.get(tag) is not None:
                    current[tag] = float(record[tag])
            cursor += 1
        mean = sum(returns) / len(returns) if returns else math.nan
        windows.append(Window(end, len(returns), mean, dict(current)))
    return windows
