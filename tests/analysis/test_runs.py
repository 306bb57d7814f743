"""Reading run directories into curves and per-agent score matrices."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.runs import Curve, find_run_dirs, frame_grid, read_run, read_runs, score_at, score_matrices
from envs.games import human_normalized_score
from tests.analysis.synthetic_runs import write_run


def test_read_run_takes_identity_from_config_and_curve_from_metrics(tmp_path):
    run_dir = write_run(tmp_path, agent="iqn", game="pong", seed=3, experiment="atari5", protocol="machado",
                        evals=[(1000, -20.0), (2000, -15.0)], train=[(500, -21.0), (1500, -19.0)],
                        status="failed", error="NonFiniteError: loss")
    assert run_dir == tmp_path / "atari5" / "iqn" / "pong" / "seed3"
    run = read_run(run_dir)
    assert (run.agent, run.game, run.seed, run.experiment, run.protocol) == ("iqn", "pong", 3, "atari5", "machado")
    assert (run.status, run.error, run.is_atari, run.suite) == ("failed", "NonFiniteError: loss", True, "atari")
    np.testing.assert_array_equal(run.eval_curve.frames, [1000, 2000])
    np.testing.assert_array_equal(run.eval_curve.values, [-20.0, -15.0])
    np.testing.assert_array_equal(run.train_curve.values, [-21.0, -19.0])
    assert run.trained_frames == 2000 and run.final_return == -15.0
    assert run.normalize(np.array(-15.0)) == pytest.approx(human_normalized_score("pong", -15.0))


def test_classic_runs_keep_raw_returns(tmp_path):
    run = read_run(write_run(tmp_path, agent="c51", game="cartpole", seed=0, env="cartpole", evals=[(200, 50.0)]))
    assert (run.env_kind, run.protocol, run.suite) == ("classic", None, "cartpole")
    assert run.normalize(np.array([50.0])) == pytest.approx([50.0])


def test_replayed_frames_keep_the_later_record_and_evaluate_summaries_win(tmp_path):
    run_dir = write_run(tmp_path, agent="dqn", game="breakout", seed=0, evals=[(100, 1.0), (200, 2.0)],
                        eval_summaries=[(200, [5.0, 7.0]), (300, [9.0])])
    with open(run_dir / "metrics.jsonl", "a", encoding="utf-8") as f:  # a resume replays frame 100, then a torn line
        f.write(json.dumps({"frames": 100, "time": 0.0, "eval/return": 1.5}) + "\n" + '{"frames": 2')
    run = read_run(run_dir)
    np.testing.assert_array_equal(run.eval_curve.frames, [100, 200, 300])
    np.testing.assert_array_equal(run.eval_curve.values, [1.5, 6.0, 9.0])
    assert len(run.eval_summaries) == 2 and run.trained_frames == 300


def test_trained_frames_is_the_newest_complete_record(tmp_path):
    run_dir = write_run(tmp_path, agent="dqn", game="pong", seed=0, evals=[(100, 1.0)], status=None)
    with open(run_dir / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"frames": 180, "time": 0.0, "loss/td": 0.5}) + "\n" + '{"frames": 19')
    assert read_run(run_dir).trained_frames == 180


def test_training_returns_are_read_under_sticky_protocols_and_minatar_only(tmp_path):
    common = {"agent": "dqn", "game": "pong", "seed": 0, "evals": [(100, 1.0)], "train": [(50, -21.0)]}
    assert len(read_run(write_run(tmp_path, protocol="machado", experiment="m", **common)).train_curve) == 1
    assert len(read_run(write_run(tmp_path, protocol="dopamine", experiment="d", **common)).train_curve) == 1
    assert len(read_run(write_run(tmp_path, protocol="dqn_zoo", experiment="z", **common)).train_curve) == 0
    minatar = {**common, "game": "breakout"}
    assert len(read_run(write_run(tmp_path, preset="minatar_rr", **minatar)).train_curve) == 1


def test_find_run_dirs_skips_hydra_copies_moved_runs_and_incomplete_dirs(tmp_path):
    kept = write_run(tmp_path, agent="dqn", game="pong", seed=0, evals=[(100, 1.0)])
    (kept / ".hydra").mkdir()
    (kept / ".hydra" / "config.yaml").write_text("seed: 0\n")
    moved = kept.with_name("seed0.replaced-20250101-000000")
    moved.mkdir()
    for name in ("config.yaml", "metrics.jsonl"):
        (moved / name).write_text((kept / name).read_text())
    (tmp_path / "only_config").mkdir()
    (tmp_path / "only_config" / "config.yaml").write_text("seed: 0\n")
    assert find_run_dirs(tmp_path) == [kept]
    with pytest.raises(FileNotFoundError, match="not a directory"):
        find_run_dirs(tmp_path / "missing")


def test_score_at_takes_the_last_eval_at_or_before_each_point_until_the_run_stops():
    curve = Curve(np.array([100, 200, 300]), np.array([1.0, 2.0, 3.0]))
    grid = np.array([50, 100, 150, 300, 310, 400])
    np.testing.assert_array_equal(score_at(curve, grid, trained_frames=320), [np.nan, 1.0, 1.0, 3.0, 3.0, np.nan])
    empty = Curve(np.zeros(0, np.int64), np.zeros(0))
    assert np.isnan(score_at(empty, grid, trained_frames=400)).all()


def test_frame_grid_is_the_union_thinned_to_max_points(tmp_path):
    runs = [read_run(write_run(tmp_path, agent="dqn", game="pong", seed=s, evals=[(f, 0.0) for f in frames]))
            for s, frames in enumerate(([100, 200, 300], [150, 300]))]
    np.testing.assert_array_equal(frame_grid(runs), [100, 150, 200, 300])
    thinned = frame_grid(runs, max_points=2)
    np.testing.assert_array_equal(thinned, [100, 300])


def test_score_matrices_per_suite_and_agent(tmp_path):
    for seed in range(3):
        write_run(tmp_path, agent="dqn", game="pong", seed=seed, evals=[(100, -21.0 + seed), (200, -10.0 + seed)])
    write_run(tmp_path, agent="dqn", game="breakout", seed=0, evals=[(100, 5.0)])  # stops at 100 frames
    write_run(tmp_path, agent="iqn", game="pong", seed=0, evals=[(200, 0.0)])
    write_run(tmp_path, agent="dqn", game="cartpole", seed=0, env="cartpole", evals=[(100, 20.0), (200, 80.0)])
    write_run(tmp_path, agent="c51", game="pong", seed=0, evals=[], status="running")
    suites = score_matrices(read_runs(tmp_path, progress=False))
    assert sorted(suites) == ["atari", "cartpole"] and sorted(suites["atari"]) == ["dqn", "iqn"]
    dqn = suites["atari"]["dqn"]
    assert dqn.games == ("breakout", "pong")
    np.testing.assert_array_equal(dqn.frames, [100, 200])
    assert dqn.curve.shape == (2, 3, 2) and dqn.final.shape == (3, 2)
    pong = [human_normalized_score("pong", -10.0 + s) for s in range(3)]
    np.testing.assert_allclose(dqn.final[:, 1], pong)
    np.testing.assert_allclose(dqn.final_raw[:, 1], [-10.0, -9.0, -8.0])
    assert dqn.final[0, 0] == pytest.approx(human_normalized_score("breakout", 5.0))
    assert np.isnan(dqn.final[1:, 0]).all()  # breakout has one run: the other rows are missing
    assert dqn.curve[0, 0, 0] == pytest.approx(human_normalized_score("breakout", 5.0))
    assert np.isnan(dqn.curve[1, 0, 0])  # breakout never trained to 200 frames
    assert np.isnan(suites["atari"]["iqn"].curve[0]).all()  # no evaluation at or before 100
    cartpole = suites["cartpole"]["dqn"]
    np.testing.assert_array_equal(cartpole.final, [[80.0]])  # raw returns
    np.testing.assert_array_equal(cartpole.curve[:, 0, 0], [20.0, 80.0])


def test_labels_name_the_experiment_and_protocol_where_they_vary(tmp_path):
    write_run(tmp_path, agent="dqn", game="pong", seed=0, evals=[(100, 0.0)], experiment="a")
    write_run(tmp_path, agent="dqn", game="pong", seed=0, evals=[(100, 0.0)], experiment="b", protocol="machado")
    write_run(tmp_path, agent="dqn", game="cartpole", seed=0, evals=[(100, 0.0)], env="cartpole", experiment="b")
    suites = score_matrices(read_runs(Path(tmp_path), progress=False))
    assert sorted(suites["atari"]) == ["a/dqn [dqn_zoo]", "b/dqn [machado]"]
    assert list(suites["cartpole"]) == ["b/dqn"]
