"""Hydra multiruns (`python train.py -m ...`): plan, run and summarise a sweep of training jobs.

The launching process (the one the user started, local or on a Slurm login node):
- `SweepSummary.on_multirun_start` expands the sweep exactly as Hydra's basic sweeper will (the
  experiment's `hydra.sweeper.params`, then the command line), composes every job's config and
  validates it, so a typo fails the whole sweep (exit status 2) before one job is submitted;
- `on_multirun_end` reads each job's `status.json` and prints one line per job and the failed jobs,
  and writes `sweep_summary.json` into the sweep dir; `finish_sweep()` (called by train.py after
  Hydra returns, or after Hydra gave up on a lost job) turns it into the exit status.

Each job (a submitit process): `run_sweep_job` never raises. An exception would travel back to the
launcher inside Hydra's JobReturn, and Hydra's sweeper re-raises the first one before the summary; the
job instead records `failed` (with the error) in its run dir, logs the traceback to its own log, and
returns its status. A SIGUSR2 from Slurm (time limit, or preemption where the cluster signals it) is
first caught by the trainer, which checkpoints and stops; the job then hands the signal back to
submitit, which requeues the same job (same overrides, so the same run dir) and the rerun resumes.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_loader import ConfigLoader
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from training.config import TrainConfig
from training.loop import run
from training.rundir import atomic_write_text, read_status, write_status
from training.validation import ConfigError, unknown_override_error, validate_config

log = logging.getLogger(__name__)

SUMMARY_FILE = "sweep_summary.json"
BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


class SweepConfigError(ConfigError):
    """A job of the sweep has a config that cannot work, or the sweep cannot be planned."""


@dataclass(frozen=True)
class SweepJob:
    """One job of a sweep: its overrides (as Hydra passes them) and the run dir they name."""

    overrides: tuple[str, ...]
    run_dir: str


def expand_sweep(config: DictConfig) -> list[list[str]]:
    """Every job's override list, in launch order, as Hydra's BasicSweeper builds them.

    `config` is the multirun's own config (with its `hydra` node): sweeper params come first, then the
    command line's overrides; a key given in both takes the command line's value.
    """
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{key}={value}" for key, value in params.items()]
    arguments += list(OmegaConf.to_container(config.hydra.overrides.task, resolve=False))
    parser = OverridesParser.create(config_loader=_config_loader())
    batches = BasicSweeper.split_arguments(parser.parse_overrides(arguments), max_batch_size=None)
    return [list(job) for batch in batches for job in batch]


def _config_loader() -> ConfigLoader:
    if not GlobalHydra.instance().is_initialized():
        raise RuntimeError("expand_sweep/plan_sweep need an initialized Hydra (inside the app or compose API)")
    return GlobalHydra.instance().hydra.config_loader


def job_train_config(config: DictConfig, overrides: list[str]) -> TrainConfig:
    """The typed config one job of the sweep will run (composed as the launcher composes it)."""
    try:
        job_config = _config_loader().load_sweep_config(config, overrides)
    except ConfigCompositionException as error:
        unknown_key = unknown_override_error(error)
        if unknown_key is None:
            raise
        raise unknown_key from None
    task = copy.deepcopy(job_config)
    with read_write(task), open_dict(task):
        del task["hydra"]
    return OmegaConf.to_object(task)


def plan_sweep(config: DictConfig) -> list[SweepJob]:
    """Compose and validate every job of the sweep; raise SweepConfigError naming the first bad job."""
    jobs = []
    for number, overrides in enumerate(expand_sweep(config)):
        try:
            train_config = job_train_config(config, overrides)
            validate_config(train_config)
        except ConfigError as error:
            raise SweepConfigError(f"config error in sweep job #{number} ({' '.join(overrides)}): {error}; "
                                   "no job was launched") from None
        jobs.append(SweepJob(tuple(overrides), train_config.run_dir))
    duplicates = sorted(run_dir for run_dir, n in Counter(job.run_dir for job in jobs).items() if n > 1)
    if duplicates:
        raise SweepConfigError(f"several sweep jobs share a run dir ({', '.join(duplicates)}): the run dir is "
                               "named by experiment_name, agent, env.game and seed only, so sweep over those "
                               "(or give each variant its own experiment_name); no job was launched")
    return jobs


def job_outcome(job: SweepJob, since: float) -> dict[str, Any]:
    """What a job's `status.json` says, or `missing` when this sweep never wrote one (older than `since`)."""
    status = read_status(Path(job.run_dir))
    outcome = {"run_dir": job.run_dir, "overrides": list(job.overrides), "status": "missing", "frames": None,
               "error": None, "pid": None}
    if status is not None and status.get("time", 0.0) >= since:
        outcome.update({key: status.get(key) for key in ("status", "frames", "error", "pid")})
    return outcome


NOT_DONE_REASONS = {
    "missing": "no status.json from this sweep: the job never started (see its submitit log)",
    "running": "status.json still says running: the process was killed (OOM, SIGKILL, node loss) or still runs",
    "preempted": "stopped by a signal after a checkpoint; rerun the sweep (or wait for the requeue) to resume",
}


def format_summary(outcomes: list[dict[str, Any]], summary_path: Path | None = None) -> str:
    """One line per job (status, frames, run dir), then the jobs that did not finish with their errors."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome["status"]] = counts.get(outcome["status"], 0) + 1
    tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    where = f" -> {summary_path}" if summary_path is not None else ""
    lines = [f"sweep summary: {len(outcomes)} jobs: {tally}{where}", f"  {'status':<10} {'frames':>12}  run dir"]
    for outcome in outcomes:
        frames = "-" if outcome["frames"] is None else str(outcome["frames"])
        lines.append(f"  {outcome['status']:<10} {frames:>12}  {outcome['run_dir']}")
    unfinished = [outcome for outcome in outcomes if outcome["status"] != "done"]
    if unfinished:
        lines.append(f"jobs not done ({len(unfinished)}):")
        for outcome in unfinished:
            reason = outcome["error"] or NOT_DONE_REASONS.get(outcome["status"], "")
            lines.append(f"  {outcome['status']}: {outcome['run_dir']}" + (f": {reason}" if reason else ""))
            lines.append(f"    overrides: {' '.join(outcome['overrides'])}")
    return "\n".join(lines)


class SweepSummary(Callback):
    """Hydra callback (configs/train.yaml `hydra.callbacks`): plans the sweep and reports every job's fate."""

    def __init__(self, filename: str = SUMMARY_FILE) -> None:
        self.filename = filename
        self.jobs: list[SweepJob] | None = None
        self.started = 0.0
        self.summary_path: Path | None = None
        self.outcomes: list[dict[str, Any]] | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Plan the sweep; a bad job config ends the process with status 2 before any job is launched.

        Hydra turns a callback's exception into a warning and goes on, so this exits instead (SystemExit
        passes through Hydra), as a single run's config error does. Jobs report failures by status only
        (`run_sweep_job`), so a sweep this callback cannot plan must not run either.
        """
        global _ACTIVE
        try:
            sweeper = config.hydra.sweeper.get("_target_")
            if sweeper != BASIC_SWEEPER:
                raise SweepConfigError(f"hydra.sweeper: train.py sweeps need Hydra's basic sweeper ({BASIC_SWEEPER}) "
                                       f"to plan and summarise the jobs, got {sweeper}")
            self.started = time.time()
            self.summary_path = Path(str(config.hydra.sweep.dir)) / self.filename
            self.jobs = plan_sweep(config)
        except Exception as error:
            print(f"config error: {error}", file=sys.stderr, flush=True)
            raise SystemExit(2) from error
        _ACTIVE = self

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self.report()

    def report(self) -> list[dict[str, Any]]:
        """Read every job's status, print the summary and write `sweep_summary.json` (once)."""
        if self.outcomes is None and self.jobs is not None:
            self.outcomes = [job_outcome(job, self.started) for job in self.jobs]
            record = {"sweep_dir": str(self.summary_path.parent), "started": self.started, "finished": time.time(),
                      "jobs": self.outcomes,
                      "not_done": [o["run_dir"] for o in self.outcomes if o["status"] != "done"]}
            self.summary_path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.summary_path, json.dumps(record, indent=2) + "\n")
            print(format_summary(self.outcomes, self.summary_path), flush=True)
        return self.outcomes or []


_ACTIVE: SweepSummary | None = None


def finish_sweep() -> int:
    """In the launching process after Hydra returns (or raised): summarise the sweep if there was one.

    Returns the exit status: 1 when any job of the sweep is not `done`, else 0 (also when no sweep ran).
    """
    global _ACTIVE
    summary, _ACTIVE = _ACTIVE, None
    if summary is None:
        return 0
    return int(any(outcome["status"] != "done" for outcome in summary.report()))


def record_failure(run_dir: Path, error: BaseException) -> None:
    """Make `status.json` say `failed` with `error`, unless this process already recorded it."""
    status = read_status(run_dir) or {}
    if status.get("status") == "failed" and status.get("pid") == os.getpid():
        return
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_status(run_dir, "failed", error=f"{type(error).__name__}: {error}")
    except OSError as write_error:
        log.error("cannot record the failure in %s: %s", run_dir, write_error)


def hand_preemption_to_submitit(run_dir: Path) -> None:
    """After the trainer checkpointed on submitit's preemption signal, let submitit requeue the job.

    submitit installs a SIGUSR2 handler that requeues the job (Slurm: `scontrol requeue`; local: the
    controller restarts it) and exits; the trainer's own handler replaced it while training and restored
    it afterwards. Re-raising the signal runs it now, after our checkpoint rather than mid-update. SIGTERM
    (scancel, or Slurm's own preemption requeue) is not handed over: the job just stops `preempted`.
    """
    if not os.environ.get("SUBMITIT_EXECUTOR"):
        return
    signal_name = "SIG" + os.environ.get("SUBMITIT_PREEMPT_SIGNAL", "USR2")
    signum = getattr(signal, signal_name, None)
    stopped_by = (read_status(run_dir) or {}).get("signal")
    if signum is None or stopped_by != signal_name or not callable(signal.getsignal(signum)):
        return
    log.info("%s: checkpointed after %s; handing over to submitit to requeue", run_dir, signal_name)
    try:
        signal.raise_signal(signum)
    except Exception as error:  # submitit refused (e.g. timed out too many times): the run stays preempted
        log.warning("%s: submitit did not requeue the job: %s", run_dir, error)


def run_sweep_job(config: TrainConfig) -> str:
    """Run one job of a multirun and return its status; never raises (see the module docstring)."""
    run_dir = Path(config.run_dir)
    try:
        status = run(config)
    except Exception as error:
        log.exception("sweep job failed: %s", run_dir)
        record_failure(run_dir, error)
        return "failed"
    if status == "preempted":
        hand_preemption_to_submitit(run_dir)
    return status

