"""analysis/windows.py and scripts/run_windows.py on a metrics.jsonl written by hand."""

from __future__ import annotations

import csv
import json
import math

import pytest
import run_windows

from analysis.windows import metric_windows

RECORDS = [
    {"frames": 0, "time": 0.0, "q/sd": 9.0},
    {"frames": 40, "time": 1.0, "train/episode_return": 1.0},
    {"frames": 100, "time": 2.0, "train/episode_return": 3.0, "q/sd": 4.0},  # ends window 1: (0, 100]
    {"frames": 150, "time": 3.0, "q/sd": None},  # a non-finite scalar logged as null keeps the earlier value
    {"frames": 250, "time": 4.0, "train/episode_return": -2.0, "q/mean": 0.5},
    {"frames": 301, "time": 5.0, "q/sd": 2.0},
]


def _write(run_dir, records=RECORDS, torn: bool = False):
    run_dir.mkdir(parents=True)
    lines = [json.dumps(r) for r in records]
    if torn:
        lines.insert(2, '{"frames": 120, "train/episode_ret')
    (run_dir / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    return run_dir


@pytest.mark.parametrize("torn", [False, True])
def test_windows_by_hand(tmp_path, torn):
    windows = metric_windows(_write(tmp_path / "run", torn=torn), 100, ["q/sd", "q/mean"])
    assert [w.end_frames for w in windows] == [100, 200, 300, 400]
    assert [w.episodes for w in windows] == [2, 0, 1, 0]
    assert windows[0].episode_return_mean == 2.0 and windows[2].episode_return_mean == -2.0
    assert math.isnan(windows[1].episode_return_mean)
    assert [w.tags["q/sd"] for w in windows] == [4.0, 4.0, 4.0, 2.0]
    assert math.isnan(windows[0].tags["q/mean"]) and windows[2].tags["q/mean"] == 0.5


def test_bad_width_and_missing_run(tmp_path):
    with pytest.raises(ValueError, match="window_frames must be > 0, got 0"):
        metric_windows(_write(tmp_path / "run"), 0)
    with pytest.raises(FileNotFoundError, match="metrics.jsonl does not exist"):
        metric_windows(tmp_path / "nothing", 100)


def test_script_writes_one_row_per_run_and_window(tmp_path):
    a = _write(tmp_path / "a")
    b = _write(tmp_path / "b", [{"frames": 50, "time": 0.0, "train/episode_return": 7.0, "q/sd": 1.5}])
    out = tmp_path / "w.csv"
    assert run_windows.main([f"preset={a}", f"control={b}", "--window-frames", "100", "--max-frames", "300",
                             "--tags", "q/sd", "--log-tags", "q/sd", "--csv", str(out),
                             "--png", str(tmp_path / "w.png")]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [(r["run"], r["end_frames"]) for r in rows] == [
        ("preset", "100"), ("preset", "200"), ("preset", "300"), ("control", "100")]
    assert rows[1]["episode_return_mean"] == "" and rows[0]["q_sd"] == "4" and rows[3]["episode_return_mean"] == "7"
    assert (tmp_path / "w.png").stat().st_size > 0
    assert run_windows.main([str(tmp_path / "missing"), "--csv", str(out)]) == 2
