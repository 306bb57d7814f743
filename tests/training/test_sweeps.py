"""Sweeps (Hydra multirun on hydra-submitit-launcher) and the run's hyperparameters in TensorBoard.

The slow tests run the real CLI with `hydra/launcher=local`: every job is its own process, started by
submitit's local executor exactly as a Slurm job would run it (pickled job, signals, requeue).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import submitit
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from envs.games import SUBSETS
from tests.conftest import compose_train, train_config
from training import sweep
from training.checkpoint import latest_checkpoint
from training.config import CONFIG_DIR, register_configs
from training.logging import flatten_hparams
from training.loop import run
from training.rundir import read_status, write_status
from training.sweep import (
    SUMMARY_FILE,
    SweepConfigError,
    SweepJob,
    SweepSummary,
    expand_sweep,
    finish_sweep,
    format_summary,
    job_outcome,
    plan_sweep,
)

ROOT = Path(__file__).resolve().parents[2]

# A CartPole job of a few hundred frames: learning from step 100, one short evaluation, one checkpoint.
TINY_CARTPOLE = [
    "experiment=cartpole",
    "agent.warmup_steps=100",
    "trainer.progress=false",
    "trainer.eval_frames=200",
    "env.eval_num_envs=1",
    "trainer.log_period_frames=100",
    "replay.capacity=5000",
    "trainer.torch_threads=1",
]


def multirun_config(overrides: list[str]):
    """The multirun's own config (with `hydra`), as `python train.py -m <overrides>` composes it."""
    register_configs()
    GlobalHydra.instance().clear()
    initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3")
    return GlobalHydra.instance().hydra.compose_config("train", overrides, run_mode=RunMode.MULTIRUN,
                                                       with_log_configuration=False)


@pytest.fixture
def hydra_cleanup():
    yield
    GlobalHydra.instance().clear()


def sweep_games(experiment: str) -> list[str]:
    hydra_cfg = compose_train([f"experiment={experiment}"], return_hydra_config=True)
    return [game.strip() for game in hydra_cfg.hydra.sweeper.params["env.game"].split(",")]


# -- configs ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("experiment", "total_frames", "seeds"), [
    ("atari57", 200_000_000, "0,1,2"),
    ("atari5", 200_000_000, "0,1,2"),
    ("atari26", 400_000, "0,1,2,3,4"),
])
def test_experiments_sweep_their_registry_subset_under_the_papers_protocol(experiment, total_frames, seeds):
    assert sweep_games(experiment) == list(SUBSETS[experiment])
    hydra_cfg = compose_train([f"experiment={experiment}"], return_hydra_config=True)
    assert hydra_cfg.hydra.sweeper.params["seed"] == seeds
    cfg = train_config([f"experiment={experiment}"])
    assert cfg.experiment_name == experiment
    assert cfg.trainer.total_frames == total_frames
    assert cfg.env.kind == "atari" and cfg.env.protocol.name == "dqn_zoo"
    assert cfg.env.protocol.sticky_action_prob == 0.0


def test_atari26_gives_every_agent_the_data_efficient_schedule():
    for agent in ("dqn", "iqn"):
        cfg = train_config(["experiment=atari26", f"agent={agent}"])
        assert (cfg.agent.n_step, cfg.agent.warmup_steps, cfg.agent.train_period_steps) == (10, 1600, 1)
        assert cfg.agent.epsilon.decay_steps == 5000 and cfg.agent.optim.name == "adam"
        assert cfg.replay.capacity >= cfg.trainer.total_frames // 4  # 100k agent steps, nothing overwritten


def test_issue_command_is_the_whole_sweep_with_config_only_run_dirs(hydra_cleanup):
    config = multirun_config(["experiment=atari5", "agent=dqn,iqn", "seed=0,1,2", "hydra/launcher=slurm"])
    jobs = expand_sweep(config)
    assert len(jobs) == 5 * 2 * 3
    assert config.hydra.sweep.dir == "runs/atari5"
    # Two jobs composed as the launcher composes them: their run dir is the config-only name.
    jobs = plan_sweep(multirun_config(["experiment=atari5", "agent=dqn,iqn", "seed=2", "env.game=qbert",
                                       "hydra/launcher=slurm"]))
    assert [job.run_dir for job in jobs] == ["runs/atari5/dqn/qbert/seed2", "runs/atari5/iqn/qbert/seed2"]


def test_command_line_seeds_replace_the_experiments_seed_list(hydra_cleanup):
    jobs = expand_sweep(multirun_config(["experiment=atari5", "agent=dqn", "seed=7"]))
    assert len(jobs) == 5 and all("seed=7" in job for job in jobs)


def test_sweep_with_a_bad_value_fails_before_any_job(hydra_cleanup):
    with pytest.raises(SweepConfigError, match=r"job #1 .*env.game=brekout.*did you mean: breakout"):
        plan_sweep(multirun_config(["env.game=breakout,brekout"]))


def test_sweep_over_a_key_outside_the_run_dir_name_is_rejected(hydra_cleanup):
    with pytest.raises(SweepConfigError, match="share a run dir"):
        plan_sweep(multirun_config(["experiment=cartpole", "agent.n_step=1,3"]))


def test_slurm_launcher_composes_with_submitit_parameters(tmp_path, monkeypatch):
    overrides = ["experiment=atari5", "hydra/launcher=slurm", "hydra.launcher.partition=gpu",
                 "hydra.launcher.account=proj42", "hydra.launcher.timeout_min=600", f"runs_root={tmp_path}"]
    hydra_cfg = compose_train(overrides, return_hydra_config=True)
    launcher = hydra_cfg.hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert (launcher.gpus_per_node, launcher.tasks_per_node, launcher.nodes) == (1, 1, 1)
    assert (launcher.partition, launcher.account, launcher.timeout_min) == ("gpu", "proj42", 600)
    assert launcher.max_num_timeout > 0 and launcher.signal_delay_s >= 120
    assert launcher.additional_parameters.requeue is True

    # The installed plugin turns them into this sbatch script (a fake `srun` lets submitit build it here).
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "srun").write_text("#!/bin/sh\nexit 1\n")
    (fake_bin / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    captured = {}

    class CaptureExecutor(submitit.AutoExecutor):
        def map_array(self, fn, *iterables):
            captured["sbatch"] = self._executor._make_submission_file_text("python -m job", "uid")
            captured["max_num_timeout"] = self._executor.max_num_timeout
            raise KeyboardInterrupt  # stop before sbatch

    monkeypatch.setattr(submitit, "AutoExecutor", CaptureExecutor)
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher

    params = OmegaConf.to_container(launcher, resolve=True)
    params.pop("_target_")
    slurm = SlurmLauncher(**params)
    slurm.setup(hydra_context=None, task_function=None, config=hydra_cfg)
    with pytest.raises(KeyboardInterrupt):
        slurm.launch([["seed=0"]], initial_job_idx=0)
    sbatch = captured["sbatch"]
    for flag in ("--gpus-per-node=1", "--partition=gpu", "--account=proj42", "--time=600",
                 f"--signal=USR2@{launcher.signal_delay_s}", "--requeue", "--job-name=atari5"):
        assert f"#SBATCH {flag}\n" in sbatch, flag
    assert captured["max_num_timeout"] == launcher.max_num_timeout
    assert f"{tmp_path}/atari5/.submitit/" in sbatch  # submitit's logs live in the sweep dir


def test_local_launcher_is_submitits_local_executor():
    hydra_cfg = compose_train(["hydra/launcher=local"], return_hydra_config=True)
    assert hydra_cfg.hydra.launcher._target_.endswith("submitit_launcher.LocalLauncher")
    assert hydra_cfg.hydra.job.chdir is False
    assert hydra_cfg.hydra.callbacks.sweep_summary._target_ == "training.sweep.SweepSummary"


# -- summary ----------------------------------------------------------------------------------------
def test_summary_reports_each_job_and_ignores_statuses_older_than_the_sweep(tmp_path):
    dirs = [tmp_path / name for name in ("done", "failed", "stale", "never")]
    for d in dirs[:3]:
        d.mkdir()
    write_status(dirs[0], "done", frames=500)
    write_status(dirs[1], "failed", error="ValueError: unknown gymnasium env 'X'")
    write_status(dirs[2], "done", frames=100)
    stale = json.loads((dirs[2] / "status.json").read_text())
    stale["time"] = 0.0
    (dirs[2] / "status.json").write_text(json.dumps(stale))
    jobs = [SweepJob((f"seed={i}",), str(d)) for i, d in enumerate(dirs)]

    summary = SweepSummary()
    summary.jobs, summary.started, summary.summary_path = jobs, time.time() - 60, tmp_path / SUMMARY_FILE
    outcomes = summary.report()
    assert [o["status"] for o in outcomes] == ["done", "failed", "missing", "missing"]
    assert outcomes[0]["frames"] == 500
    written = json.loads((tmp_path / SUMMARY_FILE).read_text())
    assert written["not_done"] == [str(d) for d in dirs[1:]]
    text = format_summary(outcomes)
    assert "4 jobs: 1 done, 1 failed, 2 missing" in text
    assert f"failed: {dirs[1]}: ValueError: unknown gymnasium env 'X'" in text
    assert "overrides: seed=1" in text
    assert job_outcome(jobs[0], since=time.time() + 60)["status"] == "missing"


def test_finish_sweep_exit_status(tmp_path):
    assert finish_sweep() == 0  # no sweep ran in this process
    (tmp_path / "a").mkdir()
    write_status(tmp_path / "a", "done", frames=1)
    summary = SweepSummary()
    summary.jobs, summary.started = [SweepJob((), str(tmp_path / "a"))], time.time() - 1
    summary.summary_path = tmp_path / SUMMARY_FILE
    sweep._ACTIVE = summary
    assert finish_sweep() == 0
    write_status(tmp_path / "a", "preempted", frames=1, signal="SIGTERM")
    summary.outcomes = None
    sweep._ACTIVE = summary
    assert finish_sweep() == 1
    assert sweep._ACTIVE is None


# -- hparams ----------------------------------------------------------------------------------------
def test_flatten_hparams_gives_dotted_keys_and_plugin_types():
    flat = flatten_hparams({"agent": {"name": "iqn", "optim": {"lr": 5e-5}, "mlp_hidden": [128, 64],
                                      "dueling": False, "reward_clip": None}, "seed": 3})
    assert flat == {"agent.name": "iqn", "agent.optim.lr": 5e-5, "agent.mlp_hidden": "[128, 64]",
                    "agent.dueling": False, "agent.reward_clip": "none", "seed": 3}


def test_run_writes_its_hparams_into_its_own_event_file(runs_root):
    cfg = train_config([*TINY_CARTPOLE, "trainer.total_frames=200", "trainer.eval_period_frames=200",
                        "trainer.checkpoint_period_frames=200", f"runs_root={runs_root}", "agent=iqn"])
    assert run(cfg) == "done"
    tb_dir = Path(cfg.run_dir) / "tb"
    assert not [p for p in tb_dir.iterdir() if p.is_dir()]  # no sibling run (SummaryWriter.add_hparams makes one)
    events = EventAccumulator(str(tb_dir), size_guidance={"tensors": 0})
    events.Reload()
    content = events.PluginTagToContent("hparams")
    assert set(content) == {"_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"}
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hparams = start.session_start_info.hparams
    assert hparams["agent.name"].string_value == "iqn"
    assert hparams["agent.optim.lr"].number_value == pytest.approx(cfg.agent.optim.lr)
    assert hparams["trainer.total_frames"].number_value == 200
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert [m.name.tag for m in experiment.metric_infos] == ["eval/return"]
    assert "eval/return" in events.Tags()["scalars"]  # the metric the plugin shows, in the same run


# -- the real CLI through submitit's local executor ---------------------------------------------------
def launch_sweep(tmp_path: Path, overrides: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.Popen([sys.executable, str(ROOT / "train.py"), "-m", "hydra/launcher=local", *overrides],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = 240) -> tuple[int, str, str]:
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"sweep did not finish in {timeout} s:\n{stdout}\n{stderr}")
    return process.returncode, stdout, stderr


@pytest.mark.slow
def test_cli_sweep_with_a_bad_value_exits_2_before_launching(tmp_path):
    process = launch_sweep(tmp_path, [*TINY_CARTPOLE, "trainer.total_frames=100", "seed=0,1", "agent.gamma=1.5",
                                      f"runs_root={tmp_path / 'runs'}"])
    returncode, stdout, stderr = finish(process, timeout=120)
    assert returncode == 2, stdout + stderr
    assert "config error in sweep job #0" in stderr and "agent.gamma must be in (0, 1]" in stderr
    assert "no job was launched" in stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_local_sweep_runs_four_jobs_as_separate_processes(tmp_path):
    runs = tmp_path / "runs"
    overrides = [*TINY_CARTPOLE, "trainer.total_frames=300", "trainer.eval_period_frames=300",
                 "trainer.checkpoint_period_frames=300", f"runs_root={runs}", "experiment_name=sweep4"]
    process = launch_sweep(tmp_path, [*overrides, "agent=dqn,iqn", "seed=0,1"])
    returncode, stdout, stderr = finish(process)
    assert returncode == 0, stdout + stderr

    run_dirs = [runs / "sweep4" / agent / "cartpole" / f"seed{seed}" for agent in ("dqn", "iqn") for seed in (0, 1)]
    statuses = [read_status(d) for d in run_dirs]
    assert [s["status"] for s in statuses] == ["done"] * 4
    assert [s["frames"] for s in statuses] == [300] * 4
    pids = {s["pid"] for s in statuses}
    assert len(pids) == 4 and process.pid not in pids  # four processes, none of them the launcher
    assert all(latest_checkpoint(d).name == "step-0000000000300" for d in run_dirs)
    assert len(list((runs / "sweep4" / ".submitit").glob("*/*_log.out"))) == 4  # submitit's per-job logs
    summary = json.loads((runs / "sweep4" / SUMMARY_FILE).read_text())
    assert sorted(job["run_dir"] for job in summary["jobs"]) == sorted(map(str, run_dirs))
    assert summary["not_done"] == []
    for d in run_dirs:
        assert f"  {'done':<10} {300:>12}  {d}\n" in stdout  # one line per job: status, frames, run dir

    # Each run dir is resumable: the same job with a larger budget continues from its checkpoint.
    cfg = train_config([*overrides, "agent=iqn", "seed=1", "trainer.total_frames=400"])
    assert run(cfg) == "done"
    assert read_status(run_dirs[3])["resumed_from"].endswith("step-0000000000300")


@pytest.mark.slow
def test_failing_job_is_reported_while_a_preempted_job_is_requeued_and_resumes(tmp_path):
    """One sweep, two jobs: one raises at build time (an unknown gymnasium id passes config validation);
    the other gets SIGUSR2 (Slurm's time-limit signal) mid-run, checkpoints, is requeued by submitit and
    finishes from its checkpoint in a new process. The launcher lists the failure and exits 1."""
    runs = tmp_path / "runs"
    overrides = [*TINY_CARTPOLE, "trainer.total_frames=1500", "trainer.eval_period_frames=1500",
                 "trainer.checkpoint_period_frames=1500", "agent.train_period_steps=1", f"runs_root={runs}",
                 "experiment_name=mixed", "env.game=CartPole-v1,NoSuchEnv-v0", "env.gym_id=${env.game}"]
    process = launch_sweep(tmp_path, overrides)
    good, bad = runs / "mixed" / "dqn" / "CartPole-v1" / "seed0", runs / "mixed" / "dqn" / "NoSuchEnv-v0" / "seed0"
    deadline = time.time() + 180
    while not ((good / "metrics.jsonl").exists() and (good / "metrics.jsonl").stat().st_size):
        assert process.poll() is None and time.time() < deadline, "the good job never started training"
        time.sleep(0.05)
    first_pid = read_status(good)["pid"]
    os.kill(first_pid, signal.SIGUSR2)
    returncode, stdout, stderr = finish(process)
    assert returncode == 1, stdout + stderr

    failed = read_status(bad)
    assert failed["status"] == "failed" and "unknown gymnasium env 'NoSuchEnv-v0'" in failed["error"]
    status = read_status(good)
    assert status["status"] == "done" and status["frames"] == 1500
    assert status["pid"] != first_pid and status["resumed_from"] is not None  # requeued, resumed
    assert "jobs not done (1):" in stdout
    assert f"failed: {bad}: ValueError: unknown gymnasium env 'NoSuchEnv-v0'" in stdout
    summary = json.loads((runs / "mixed" / SUMMARY_FILE).read_text())
    assert summary["not_done"] == [str(bad)]
