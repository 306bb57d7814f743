"""scripts/bench.py's pure parts: the clock of the end-to-end drivers, the env every framework plays,
and BENCHMARKS.md's tables and target verdicts from a synthetic set of results (the measurements
themselves are exercised by `python scripts/bench.py --quick`, not here).

scripts/ is on the test path (pyproject's pytest `pythonpath`), as a script's own directory is on
sys.path when it runs; the drivers' directory is added for the one test that loads a driver."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import bench_measure as measure
import bench_report as report
import numpy as np
import pytest
from bench_drivers import common

ROOT = Path(__file__).resolve().parents[1]


def test_learning_clock_times_only_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    now = iter([0.0, 1.0, 2.0, 2.5, 7.0, 8.0])
    monkeypatch.setattr(common.time, "perf_counter", lambda: next(now))
    clock = common.LearningClock(warmup_steps=100, skip_steps=10, measure_seconds=5.0)
    assert not clock.tick(50)  # warm-up: not timed
    assert not clock.tick(110)  # window starts at t = 1 with 110 steps
    assert not clock.tick(150)  # t = 2
    assert not clock.tick(160)  # t = 2.5
    assert clock.tick(400)  # t = 7: 6 s >= 5 s, done
    assert clock.result() == {"steps_per_s": 290 / 6.0, "steps": 290, "seconds": 6.0}


def test_learning_clock_without_a_window_reports_zero() -> None:
    assert common.LearningClock(10, 0, 1.0).result()["steps_per_s"] == 0.0


def test_ale_gym_env_follows_the_gymnasium_contract() -> None:
    env = common.AleGymEnv("pong", seed=0)
    obs, info = env.reset()
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8 and env.observation_space.contains(obs)
    assert env.action_space.n == 6
    for _ in range(5):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert obs.shape == (4, 84, 84) and isinstance(reward, float) and not (terminated or truncated)
    assert env.reset()[0][:3].max() == 0  # a fresh episode: the reset stack is zero-padded
    env.close()


def test_fmt_spread_and_verdicts() -> None:
    assert report.fmt_spread([]) == "—"
    assert report.fmt_spread([2.0]) == "2.0"
    assert report.fmt_spread([3.0, 1.0, 2.0]) == "2.0 (1.0–3.0)"
    assert (report.met(True), report.met(False), report.met(None)) == ("yes", "**no**", "n/a")


def test_markdown_tables_ratios_and_targets(tmp_path: Path) -> None:
    results = measure.Results(machine={"cpu": "test CPU, 2 cores", "torch threads": "2", "gpu": "none"})
    results.update_ms = {"dqn": [22.0, 22.0], "dqn compile=optimizer": [20.0], "dqn compile=update": [19.0],
                         "qrdqn": [40.0]}
    results.act_ms = {("dqn", 1): [0.5], ("dqn", 8): [1.5]}
    results.env = {"ours": {1: 3000.0}, "ale-py": {1: 3100.0}}
    results.replay_small = {"sample uniform n=3": 0.4}
    results.replay_big = {"capacity": 1_000_000, "num_envs": 8, "storage_bytes": 7.066e9, "bytes_per_transition": 7066,
                          "add_ms": 0.15, "sample_ms": 0.5, "update_ms": 21.0, "baseline_rss_bytes": 4e8,
                          "peak_rss_bytes": 7.7e9, "peak_over_storage": 1.09}
    # dqn: 190 vs SB3 118 (1.61×), update-only 4 / 20 ms (the driver's back-to-back updates) = 200 steps/s
    # (95%), 8 envs 170 against its own 4 / 21 ms (85%); qrdqn: 90 vs the faster of two peers (89, 60): 1.01×,
    # update-only 4 / 40 ms = 100 (90%).
    results.e2e = {"ours dqn": [180.0, 190.0, 200.0], "ours dqn E=8": [170.0], "SB3 DQN": [118.0, 117.0, 119.0],
                   "ours qrdqn": [90.0], "sb3-contrib QR-DQN": [89.0], "Tianshou QR-DQN": [60.0]}
    # Ratios per repeat (ours and the peers of one repeat run back to back): dqn 180/118, 190/100, 200/119
    # -> median 1.68 (the median of medians would say 190/118 = 1.61); qrdqn 90 / max(89, 60) = 1.01.
    results.e2e_by_repeat = {"ours dqn": {0: 180.0, 1: 190.0, 2: 200.0}, "SB3 DQN": {0: 118.0, 1: 100.0, 2: 119.0},
                             "ours qrdqn": {0: 90.0}, "sb3-contrib QR-DQN": {0: 89.0}, "Tianshou QR-DQN": {0: 60.0}}
    results.e2e_update_ms = {"ours dqn": [19.0, 20.0, 21.0], "ours dqn E=8": [4000 / 200.0],
                             "ours qrdqn": [40.0]}
    # Each run's own ratio of its interleaved halves; the table shows the median over repeats.
    results.e2e_share = {"ours dqn": [0.97, 0.95, 0.91], "ours dqn E=8": [0.85], "ours qrdqn": [0.90]}
    results.e2e_phases = {"ours dqn": [
        {"update": 20.0, "sample": 0.5, "act": 2.5, "env": 1.5, "replay add": 0.3, "bookkeeping": 0.1, "other": 0.1},
        {"update": 22.0, "sample": 0.5, "act": 2.7, "env": 1.7, "replay add": 0.5, "bookkeeping": 0.1, "other": 0.3},
        {"update": 21.0, "sample": 0.5, "act": 2.6, "env": 1.6, "replay add": 0.4, "bookkeeping": 0.1, "other": 0.2},
    ]}
    out = tmp_path / "B.md"
    report.write_markdown(out, results, ["dqn", "qrdqn"], measure.Plan.make(quick=False), "python scripts/bench.py",
                         quick=False, seconds=60.0)
    text = out.read_text()
    assert "**No GPU was available to this run**" in text
    assert ("| dqn | 190.0 (180.0–200.0) | SB3 DQN | 118.0 (117.0–119.0) | 1.68× | 200.0 | 0.95 | 170.0 | 0.85 | — |"
            in text)
    assert "| qrdqn: end-to-end ≥ 1.3× the fastest peer | 1.01× | **no** |" in text
    assert "| dqn: end-to-end ≥ 1.3× the fastest peer | 1.68× | yes |" in text
    # Bound at 1 env: update 20 ms / (20 + 4 acts of 0.5 ms + 4 env steps at 3000 steps/s) = 20 / 23.33 = 85.7%.
    assert ("| dqn: end-to-end ≥ 90% of the update-only rate, 1 env | 95.0% (bound: 85.7%, with only act and the env "
            "step added to the update, at their isolated cost) | yes |") in text
    assert "| dqn: end-to-end ≥ 90% of the update-only rate, 8 envs | 85.0% | **no** |" in text
    assert "| qrdqn: end-to-end ≥ 90% of the update-only rate, 1 env | 90.0% | yes |" in text
    assert "| replay: 1M Atari transitions ≤ 7.2 GB | 7.066 GB | yes |" in text
    assert "(the fastest update measured) | 2.6% (0.50 / 19.0 ms) | yes |" in text
    assert "| peak memory of a 1,000,000-buffer run ≤ 1.3× the buffer | 1.09× | yes |" in text
    assert "| dqn | 22.0 (22.0–22.0) | 20.0 | 19.0 | 0.50 | 1.50 |" in text
    assert "| qrdqn | 40.0 | — | — | — | — |" in text
    # Phases: medians per column, loop = their sum (26.9 ms), (21.0 + 0.5) / 26.9 = 80%.
    assert "| dqn | 1 | 21.00 | 0.50 | 2.60 | 1.60 | 0.40 | 0.10 | 0.20 | 26.40 | 81% |" in text


def test_interleaved_clock_counts_only_loop_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "scripts" / "bench_drivers"))  # as when the driver runs as a script
    spec = importlib.util.spec_from_file_location("bench_ours_driver", ROOT / "scripts" / "bench_drivers" / "ours.py")
    ours = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_ours_driver", ours)
    spec.loader.exec_module(ours)
    now = {"t": 0.0}
    clock = ours.InterleavedClock(start_step=100, measure_seconds=3.0, segment_seconds=1.5, clock=lambda: now["t"])
    assert clock.tick(50) == "loop" and not clock.timing  # warm-up
    assert clock.tick(100) == "loop" and clock.timing  # segment 1 opens at t = 0, 100 steps
    now["t"] = 1.0
    assert clock.tick(140) == "loop"
    now["t"] = 1.6
    assert clock.tick(164) == "updates" and not clock.timing  # 1.6 s, 64 steps
    now["t"] = 10.0  # an update segment of any length is not loop time
    clock.resume(164)
    now["t"] = 11.0
    assert clock.tick(200) == "loop"
    now["t"] = 11.5
    assert clock.tick(220) == "done"  # 1.6 + 1.5 >= 3 s; segment 2: 1.5 s, 56 steps
    assert clock.result() == pytest.approx({"steps_per_s": 120 / 3.1, "steps": 120, "seconds": 3.1, "segments": 2})


def gpu_results() -> object:
    """Synthetic GPU figures: dqn and iqn at 8 and 64 envs, and iqn compiled at 64."""
    results = measure.Results(machine={"gpu": "NVIDIA H100 80GB HBM3", "torch threads": "2"})
    results.gpu = {
        "update_ms": {"dqn": [1.5, 1.4, 1.6], "iqn": [4.0], "iqn compile=update": [2.5]},
        "act_ms": {"dqn E=8": [0.3], "dqn E=64": [0.4], "iqn E=8": [0.6], "iqn E=64": [0.8]},
        "env_counts": [8, 64],
        "e2e": {
            "dqn E=8": {"frames_per_s": 8_000.0, "steps_per_s": 2_000.0, "update_ms": 1.5},
            "dqn E=64": {"frames_per_s": 9_000.0, "steps_per_s": 2_250.0, "update_ms": 1.5},
            "iqn E=8": {"frames_per_s": 2_000.0, "steps_per_s": 500.0, "update_ms": 4.0},
            "iqn E=64": {"frames_per_s": 3_000.0, "steps_per_s": 750.0, "update_ms": 4.0},
            "iqn compile=update E=64": {"frames_per_s": 5_000.0, "steps_per_s": 1_250.0, "update_ms": 2.5},
        },
    }
    return results


def test_gpu_report_projects_200m_frames_from_the_fastest_run(tmp_path: Path) -> None:
    results = gpu_results()
    # 200M frames at 5,000 frames/s (iqn compiled, 64 envs) = 40,000 s = 11.1 h: within 12 h.
    assert report.gpu_best_hours(results, "iqn") == (200e6 / 5_000 / 3600, "iqn compile=update E=64")
    assert report.gpu_best_hours(results, "c51") is None
    out = tmp_path / "G.md"
    report.write_gpu_markdown(out, results, ["dqn", "iqn"], measure.Plan.make(quick=False), "python scripts/bench.py "
                             "--gpu-only", quick=False, seconds=420.0)
    text = out.read_text()
    assert text.startswith("# GPU benchmarks")
    assert ("| agent | update ms | act ms, 8 envs | act ms, 64 envs | frames/s, 8 envs | frames/s, 64 envs | "
            "loop / update-only, 64 envs | hours for 200M frames |") in text
    # dqn at 64 envs: 2,250 steps/s against 4 / 1.5 ms = 2,667 -> 0.84; 200M / 9,000 frames/s = 6.2 h.
    assert "| dqn | 1.50 (1.40–1.60) | 0.30 | 0.40 | 8,000 | 9,000 | 0.84 | 6.2 (dqn E=64) |" in text
    assert "| iqn | 4.00 | 0.60 | 0.80 | 2,000 | 3,000 | 0.75 | 11.1 (iqn compile=update E=64) |" in text
    assert "| iqn compile=update | 2.50 | — | — | — | 5,000 | 0.78 | — |" in text
    assert ("| GPU: IQN 200M frames ≤ 12 h on one H100 | 11.1 h on NVIDIA H100 80GB HBM3 (iqn compile=update E=64) "
            "| yes |") in text


def test_gpu_target_without_a_gpu_or_without_an_iqn_run() -> None:
    assert report.gpu_target_line(measure.Results()).endswith("| no GPU in this run | n/a |")
    results = gpu_results()
    results.gpu["e2e"] = {"dqn E=8": {"frames_per_s": 8_000.0}}
    assert report.gpu_target_line(results).endswith("| not measured | n/a |")


@pytest.mark.slow
def test_measure_gpu_runs_its_code_path_on_the_cpu() -> None:
    """The GPU measurements end to end (updates, acting, a real trainer run through the driver), on the CPU:
    a GPU machine should only ever add speed, never a first run of this code."""
    import torch

    plan = measure.Plan.make(quick=True)
    results = measure.Results(machine={"gpu": "none"})
    with measure.tqdm(disable=True) as bar:
        measure.measure_gpu(["dqn"], plan, results, bar, torch.device("cpu"), env_counts=(2,), compiled=())
    assert results.notes == []
    assert len(results.gpu["update_ms"]["dqn"]) == plan.update_rounds * plan.updates_per_round
    assert len(results.gpu["act_ms"]["dqn E=2"]) == plan.update_rounds * plan.act_calls
    run = results.gpu["e2e"]["dqn E=2"]
    assert run["frames_per_s"] == pytest.approx(4 * run["steps_per_s"]) and run["steps_per_s"] > 0
    assert run["update_ms"] > 0 and run["phases_ms_per_update"]["update"] > 0
    hours, label = report.gpu_best_hours(results, "dqn")
    assert label == "dqn E=2" and hours == pytest.approx(200e6 / run["frames_per_s"] / 3600)
