"""Runs against the references' bands (analysis/reproduction.py): iteration means, verdicts, preset flags and the
summary, on synthetic run dirs whose per-iteration means are chosen below, inside and above the shipped
references (Dopamine DQN on Breakout; Young & Tian's DQN on MinAtar, digitized from their figure)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from analysis.reference import YOUNG_TIAN_RUNS, dopamine_curves, young_tian_curves, young_tian_reference
from analysis.reproduction import (
    NO_REFERENCE,
    compare,
    compare_records,
    iteration_means,
    moving_average_means,
    read_run_records,
    run_records,
    summarize,
    verdict,
    write_csv,
    write_run_records,
)
from analysis.runs import read_runs
from tests.analysis.synthetic_runs import write_run


def test_iteration_means_bin_episode_ends_by_iteration():
    frames = np.array([10, 1_000_000, 1_000_001, 2_500_000])
    returns = np.array([1.0, 3.0, 5.0, 7.0])
    assert iteration_means(frames, returns) == {0: (2.0, 2), 1: (5.0, 1), 2: (7.0, 1)}
    assert iteration_means(np.zeros(0), np.zeros(0)) == {}


@pytest.mark.parametrize(("value", "expected"), [(0.9, "below"), (1.0, "inside"), (1.5, "inside"), (2.0, "inside"),
                                                 (2.1, "above")])
def test_verdict_is_against_the_closed_band(value: float, expected: str):
    assert verdict(value, 1.0, 2.0) == expected


def test_verdict_without_a_band():
    assert verdict(3.0, float("nan"), float("nan")) == NO_REFERENCE


def _episodes(iteration_means: dict[int, float]) -> list[tuple[int, float]]:
    """Two episodes per iteration with the given mean, ending inside it (the last at its end)."""
    return [(k * 1_000_000 + offset, mean + delta) for k, mean in iteration_means.items()
            for offset, delta in ((400_000, -0.5), (1_000_000, 0.5))]


@pytest.fixture(scope="module")
def band() -> np.ndarray:
    curve = dopamine_curves({"breakout"}, {"DQN"})[("breakout", "DQN")]
    return np.stack([curve.returns.min(0), curve.returns.max(0), curve.returns.mean(0)])[:, :2]


def test_compare_gives_per_iteration_verdicts_against_dopamine(tmp_path, band):
    low, high, mean = band
    targets = {0: low[0] - 0.3, 1: (low[1] + high[1]) / 2}
    for seed, shift in ((0, -0.1), (1, 0.1)):  # the seeds' mean is the target
        write_run(tmp_path, agent="dqn", game="breakout", seed=seed, evals=[], preset="dopamine",
                  train=_episodes({k: v + shift for k, v in targets.items()}))
    write_run(tmp_path, agent="qrdqn", game="breakout", seed=0, evals=[], preset="dopamine",
              train=_episodes({0: 100.0}))
    rows = compare(read_runs(tmp_path, progress=False))
    dqn = [r for r in rows if r.agent == "dqn"]
    assert [(r.iteration, r.verdict) for r in dqn] == [(0, "below"), (1, "inside")]
    for row, k in zip(dqn, (0, 1), strict=True):
        assert row.suite == "atari/dopamine" and row.seeds == 2 and row.episodes == 4 and row.reference_runs == 5
        assert row.reference_source == "dopamine" and row.reference_read_uncertainty == 0
        assert row.ours_mean == pytest.approx(targets[k])
        assert (row.reference_min, row.reference_max, row.reference_mean) == pytest.approx((low[k], high[k], mean[k]))
        assert row.flags == ""
    (qrdqn,) = [r for r in rows if r.agent == "qrdqn"]
    assert qrdqn.verdict == "above"
    summary = {(s.agent, s.game): s for s in summarize(rows)}
    assert (summary["dqn", "breakout"].below, summary["dqn", "breakout"].inside) == (1, 1)
    assert summary["dqn", "breakout"].last_verdict == "inside" and summary["qrdqn", "breakout"].above == 1


def test_a_run_departing_from_its_preset_or_protocol_is_flagged(tmp_path):
    write_run(tmp_path, agent="dqn", game="breakout", seed=0, evals=[], preset="dopamine",
              train=_episodes({0: 1.0}),
              config_changes={"agent": {"gamma": 0.9, "compile": "update"}, "trainer": {"torch_threads": 1}})
    write_run(tmp_path, agent="c51", game="breakout", seed=0, evals=[], protocol="machado", experiment="mine",
              train=_episodes({0: 1.0}))
    rows = {r.agent: r for r in compare(read_runs(tmp_path, progress=False))}
    assert "agent.gamma: 0.9 (preset 0.99)" in rows["dqn"].flags and "torch_threads" not in rows["dqn"].flags
    assert "compile" not in rows["dqn"].flags  # how the update runs, not what it computes
    assert "protocol machado: full action set" in rows["c51"].flags
    assert "no preset named experiment=mine" in rows["c51"].flags
    assert rows["c51"].verdict in ("below", "inside", "above")  # still compared with Dopamine's C51


def test_minatar_rr_runs_have_no_reference_and_csv_round_trips(tmp_path):
    write_run(tmp_path, agent="iqn", game="freeway", seed=0, evals=[], preset="minatar_rr",
              train=_episodes({0: 20.0, 1: 30.0}))
    write_run(tmp_path, agent="dqn", game="freeway", seed=0, evals=[], preset="minatar_rr",
              train=_episodes({0: 20.0}))
    rows = compare(read_runs(tmp_path, progress=False))
    assert [(r.suite, r.agent, r.verdict) for r in rows] == [("minatar/minatar_rr", "dqn", NO_REFERENCE)] + [
        ("minatar/minatar_rr", "iqn", NO_REFERENCE)] * 2
    assert all(r.reference_source == "" and r.reference_runs == 0 for r in rows)
    assert summarize(rows)[0].iterations == 0
    path = write_csv(rows, tmp_path / "out" / "comparison.csv")
    read = list(csv.DictReader(path.open()))
    assert [float(r["ours_mean"]) for r in read] == [20.0, 20.0, 30.0] and read[0]["reference_min"] == ""
    with pytest.raises(ValueError, match="no rows"):
        write_csv([], tmp_path / "empty.csv")


def test_the_digitized_band_is_the_mean_plus_minus_one_sd_and_the_reading_error():
    curve = young_tian_curves({"breakout"})["breakout"]
    reference = young_tian_reference(curve)
    k = int(np.flatnonzero(curve.frames == 2_000_000)[0])
    sd = curve.se[k] * np.sqrt(30)
    assert reference.high[k] - curve.mean[k] == pytest.approx(sd + curve.read_uncertainty[k])
    assert curve.mean[k] - reference.low[k] == pytest.approx(sd + curve.read_uncertainty[k])
    low, high, mean, read, runs = reference.window(1_000_000, 2_000_000)
    inside = (curve.frames > 1_000_000) & (curve.frames <= 2_000_000)
    assert inside.sum() == 20 and runs == YOUNG_TIAN_RUNS and reference.digitized
    assert (low, high, mean, read) == pytest.approx((reference.low[inside].mean(), reference.high[inside].mean(),
                                                    curve.mean[inside].mean(), curve.read_uncertainty[inside].mean()))
    assert np.isnan(reference.window(5_000_000, 6_000_000)[0])  # the figure ends at 5M frames


def test_moving_average_means_by_hand():
    frames = np.array([10, 20, 30, 40, 120, 130])
    returns = np.array([1.0, 2.0, 3.0, 4.0, 10.0, 20.0])
    # window 2 at points 5 (no episode yet), 25 (1, 2), 50 (3, 4), 100 (3, 4), 125 (4, 10), 150 (10, 20; unreached)
    means = moving_average_means(frames, returns, np.array([5, 25, 50, 100, 125, 150]), window_episodes=2,
                                 trained_frames=140, iteration_frames=100)
    assert means == pytest.approx({0: (1.5 + 3.5 + 3.5) / 3, 1: 7.0})
    assert moving_average_means(frames, returns, np.array([25]), 100, 140, 100) == pytest.approx({0: 1.5})  # all so far


def _steady_episodes(iteration_returns: dict[int, float], per_iteration: int = 1000) -> list[tuple[int, float]]:
    """`per_iteration` equally spaced episodes in each iteration, all with that iteration's return."""
    step = 1_000_000 // per_iteration
    return [(k * 1_000_000 + step * (i + 1), value) for k, value in iteration_returns.items()
            for i in range(per_iteration)]


def test_minatar_dqn_runs_are_judged_against_young_and_tian(tmp_path):
    reference = young_tian_reference(young_tian_curves({"freeway"})["freeway"])
    (low0, high0, mean0, _, _), (low1, _, mean1, read1, _) = (reference.window(0, 1_000_000),
                                                                reference.window(1_000_000, 2_000_000))
    targets = {0: mean0, 1: low1 - 5.0, 5: 40.0}  # at the reference, far below it, past the figure's 5M frames
    write_run(tmp_path, agent="dqn", game="freeway", seed=0, evals=[], preset="minatar",
              train=_steady_episodes(targets))
    rows = compare(read_runs(tmp_path, progress=False))
    assert [(r.suite, r.iteration, r.verdict) for r in rows] == [
        ("minatar/minatar", 0, "inside"), ("minatar/minatar", 1, "below"), ("minatar/minatar", 5, NO_REFERENCE)]
    first, second, last = rows
    # ours as their figure computes it: the last 100 episodes at each 50k-frame point, averaged over the iteration;
    # at 1.05M half of them are iteration 0's, from 1.1M on all are iteration 1's; past 5M the episode mean
    assert first.ours_mean == pytest.approx(mean0)
    assert second.ours_mean == pytest.approx(targets[1] - (targets[1] - mean0) / 40)
    assert last.ours_mean == pytest.approx(40.0) and second.episodes == 1000
    assert (first.reference_min, first.reference_max, first.reference_mean) == pytest.approx((low0, high0, mean0))
    assert second.reference_mean == pytest.approx(mean1) and second.reference_read_uncertainty == pytest.approx(read1)
    assert first.reference_source == "young_tian_figure" and first.reference_runs == YOUNG_TIAN_RUNS
    assert 45 < mean1 < 52  # Freeway DQN is near 50 through 1M-2M frames in the figure
    assert summarize(rows)[0].reference_source == "young_tian_figure"


def test_an_iteration_not_every_seed_finished_is_shown_but_not_judged(tmp_path, band):
    write_run(tmp_path, agent="dqn", game="breakout", seed=0, evals=[], preset="dopamine",
              train=_episodes({0: 1.0}) + [(1_300_000, 100.0)])
    rows = compare(read_runs(tmp_path, progress=False))
    assert [(r.iteration, r.complete, r.verdict) for r in rows] == [(0, True, "below"), (1, False, "above")]
    (summary,) = summarize(rows)
    assert (summary.iterations, summary.below, summary.above, summary.last_iteration) == (1, 1, 0, 0)


def test_the_report_draws_young_and_tian_behind_minatar_runs_and_not_behind_minatar_rr(tmp_path):
    from analysis.report import _reference_figure

    write_run(tmp_path, agent="dqn", game="breakout", seed=0, evals=[], preset="minatar",
              train=_episodes({0: 5.0, 1: 9.0}))
    write_run(tmp_path, agent="dqn", game="freeway", seed=0, evals=[], preset="minatar_rr", train=_episodes({0: 5.0}))
    runs = read_runs(tmp_path, progress=False)
    labels = {run.group: run.agent for run in runs}
    figure = _reference_figure(runs, {"dqn": "#1f77b4"}, labels, "minatar/minatar")
    names = {trace.name for trace in figure.data}
    assert "Young & Tian DQN (digitized)" in names and "dqn" in names
    assert [a["text"] for a in figure.layout.annotations] == ["breakout"]
    assert _reference_figure(runs, {"dqn": "#1f77b4"}, labels, "atari/dopamine") is None


def test_run_records_round_trip_through_runs_csv_and_give_the_same_comparison(tmp_path):
    for seed, level in ((0, 1.0), (1, 2.5)):
        write_run(tmp_path / "runs", agent="dqn", game="breakout", seed=seed, evals=[], preset="dopamine",
                  train=_episodes({0: level, 1: level * 3}), config_changes={"agent": {"gamma": 0.9}})
    write_run(tmp_path / "runs", agent="dqn", game="freeway", seed=0, evals=[], preset="minatar",
              train=_episodes({0: 20.0 / 3}))
    runs = read_runs(tmp_path / "runs", progress=False)
    records = run_records(runs)
    back = read_run_records(write_run_records(records, tmp_path / "runs.csv"))
    key = lambda r: (r.suite, r.game, r.agent, r.seed)  # noqa: E731
    for mine, read in zip(sorted(records, key=key), sorted(back, key=key), strict=True):
        assert (read.suite, read.game, read.agent, read.seed, read.status) == (mine.suite, mine.game, mine.agent,
                                                                               mine.seed, mine.status)
        assert (read.trained_frames, read.episodes, read.flags) == (mine.trained_frames, mine.episodes, mine.flags)
        assert read.iterations.keys() == mine.iterations.keys()
        for k, (value, episodes) in mine.iterations.items():
            assert read.iterations[k] == (pytest.approx(value, rel=1e-6), episodes)
    assert any("agent.gamma: 0.9" in f for r in back for f in r.flags)
    direct, recomputed = compare(runs), compare_records(back)
    assert [(r.suite, r.game, r.agent, r.iteration, r.seeds, r.episodes, r.verdict, r.complete, r.flags)
            for r in direct] == [(r.suite, r.game, r.agent, r.iteration, r.seeds, r.episodes, r.verdict, r.complete,
                                  r.flags) for r in recomputed]
    assert [r.ours_mean for r in direct] == pytest.approx([r.ours_mean for r in recomputed], rel=1e-6)
    assert [r.reference_min for r in direct] == [r.reference_min for r in recomputed]


def test_read_run_records_names_the_file_and_missing_columns(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("agent,game,seed,status,frames,episodes,span_hours,iteration_0\ndqn,boxing,0,done,1,1,0,1\n")
    with pytest.raises(ValueError, match=r"runs.csv lacks the column\(s\) suite, flags"):
        read_run_records(path)
