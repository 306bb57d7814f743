"""scripts/reproduce.py: a named reproduction fails fast on bad names, runs its jobs through train.py, skips
finished runs on a second call, and writes the comparison files."""

from __future__ import annotations

import csv
import shutil

import pytest
import reproduce

from tests.analysis.synthetic_runs import write_run


@pytest.mark.parametrize(("argv", "message"), [
    (["atari57"], "unknown reproduction 'atari57'; valid: dopamine, minatar_rr, minatar"),
    (["minatar_rr", "--games", "pong"], "unknown game(s) pong for minatar_rr; valid: asterix, breakout"),
    (["dopamine", "--agents", "dqn,ppo"], "unknown agent(s) ppo; valid: c51, dqn"),
])
def test_bad_names_fail_before_any_work(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        reproduce.main([*argv, "--runs-root", str(tmp_path)])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_a_bad_override_fails_naming_the_job(tmp_path):
    with pytest.raises(SystemExit, match="agent.gamma must be in"):
        reproduce.main(["minatar", "--runs-root", str(tmp_path), "agent.gamma=2"])


def test_compare_only_writes_the_tables_from_existing_runs(tmp_path, capsys):
    for seed in (0, 1):
        write_run(tmp_path / "runs", agent="dqn", game="breakout", seed=seed, evals=[], preset="dopamine",
                  train=[(500_000, 1.0), (1_000_000, 2.0)])
    out = tmp_path / "out"
    code = reproduce.main(["dopamine", "--agents", "dqn", "--seeds", "0,1", "--frames", "1e6", "--compare-only",
                           "--runs-root", str(tmp_path / "runs"), "--out", str(out)])
    assert code == 0
    (row,) = list(csv.DictReader((out / "summary.csv").open()))
    assert (row["agent"], row["iterations"], row["below"], row["last_verdict"]) == ("dqn", "1", "1", "below")
    assert len(list(csv.DictReader((out / "runs.csv").open()))) == 2
    assert (out / "curves.png").stat().st_size > 10_000
    assert (tmp_path / "runs" / "dopamine" / "report.html").exists()
    assert "breakout        dqn" in capsys.readouterr().out


def test_compare_keeps_the_recorded_runs_whose_run_dirs_are_elsewhere(tmp_path, capsys):
    runs, out = tmp_path / "runs", tmp_path / "out"
    for seed in (0, 1):
        write_run(runs, agent="dqn", game="breakout", seed=seed, evals=[], preset="dopamine",
                  train=[(500_000, 1.0), (1_000_000, 2.0)])
    argv = ["dopamine", "--agents", "dqn", "--frames", "1e6", "--compare-only", "--runs-root", str(runs),
            "--out", str(out)]
    assert reproduce.main([*argv, "--seeds", "0,1"]) == 0
    # seed 1's run dir goes (another machine's run); seed 0 is trained again with other returns
    for seed in (0, 1):
        shutil.rmtree(runs / "dopamine" / "dqn" / "breakout" / f"seed{seed}")
    write_run(runs, agent="dqn", game="breakout", seed=0, evals=[], preset="dopamine",
              train=[(500_000, 5.0), (1_000_000, 7.0)])
    assert reproduce.main([*argv, "--seeds", "0"]) == 0
    assert "kept from" in capsys.readouterr().out
    by_seed = {row["seed"]: row for row in csv.DictReader((out / "runs.csv").open())}
    assert (float(by_seed["0"]["iteration_0"]), float(by_seed["1"]["iteration_0"])) == (6.0, 1.5)
    (row,) = list(csv.DictReader((out / "comparison.csv").open()))
    assert (row["seeds"], row["episodes"], float(row["ours_mean"])) == ("2", "4", 3.75)
    # the report's reproduction table counts the kept run too; its other sections show the run here only
    report = (runs / "dopamine" / "report.html").read_text()
    assert "1 run(s) under" in report and "<td>3.75</td>" in report and "runs trained on other machines" in report
    # a runs.csv written by an older reproduce.py is not silently dropped
    (out / "runs.csv").write_text("agent,game,seed\ndqn,breakout,3\n")
    assert reproduce.main([*argv, "--seeds", "0"]) == 1
    assert "lacks the column(s) suite" in capsys.readouterr().err


def test_progress_shows_the_rate_over_the_samples_and_the_time_left():
    assert reproduce.progress_text([(100.0, 50_000)], 2_000_000) == "2%"  # one sample: no rate yet
    assert reproduce.progress_text([(100.0, 50_000), (160.0, 50_000)], 2_000_000) == "2%"  # stalled
    # 600 s from 200k to 320k frames: 200 frames/s; 1.68M frames left = 8400 s = 2.3 h
    samples = [(0.0, 200_000), (300.0, 250_000), (600.0, 320_000)]
    assert reproduce.progress_text(samples, 2_000_000) == "16% (200 frames/s, 2.3 h left)"
    # under 90 minutes left is shown in minutes: 60k frames at 100 frames/s = 10 min
    assert reproduce.progress_text([(0.0, 0), (60.0, 6_000)], 66_000) == "9% (100 frames/s, 10 min left)"


@pytest.mark.slow
def test_runs_a_job_then_skips_it_when_finished(tmp_path, capsys):
    argv = ["minatar_rr", "--games", "breakout", "--agents", "dqn", "--seeds", "0", "--frames", "1500",
            "--runs-root", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--progress-s", "0",
            "trainer.eval_frames=50"]
    assert reproduce.main(argv) == 0
    first = capsys.readouterr().out
    assert "0 of 1 runs already done; 1 to run" in first and "finished dqn breakout seed0: done" in first
    assert "0 waiting; running: dqn/breakout/seed0 " in first
    assert reproduce.main(argv) == 0
    assert "1 of 1 runs already done; 0 to run" in capsys.readouterr().out
    (row,) = list(csv.DictReader((tmp_path / "out" / "runs.csv").open()))
    assert (row["status"], row["frames"]) == ("done", "1500")
