"""The training loop shared by every agent: act on all envs, remember, learn, evaluate, checkpoint.

Counting: one vector step of E envs is E agent steps and E * frames_per_step frames. The agent's
periods (replay ratio, target sync, ε decay, warm-up) are in agent steps; the trainer's (logging,
evaluation, checkpoints, budget) in frames, the x-axis of every log.

Order of a vector step: act -> env step started -> the updates due -> env step collected -> replay
write. The updates never see the step's own transition, so the env may run during them
(`trainer.overlap`: ale-py's C++ worker threads step the emulators while torch updates) or before
them, with identical results (tests/training/test_overlap.py). "auto" overlaps on a GPU or when the
machine has more cores than torch's threads.

Resuming: starting again with the same config (hence the same run dir) loads the newest complete
checkpoint — agent, optimizers, replay, counters, RNG states — and continues. Classic-control envs are
saved mid-episode too, so a CartPole run resumes on exactly the trajectory it would have followed;
ale-py's vector env cannot save its emulators, so an Atari run starts fresh episodes on resume.
`trainer.resume=false` moves an existing run aside (`<run dir>.replaced-<time>`) before starting over.

Faults: every update's loss, gradient norms and mean Q are recorded on the device (`UpdateMetrics`, no
host sync per update) and checked for NaN/inf at each log and before each checkpoint, so a non-finite update stops
the run (`NonFiniteError`, status `failed`) naming the update and the metric, and the newest checkpoint
on disk is always one from before it.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf
from torch import Tensor
from tqdm import tqdm

from agents import build_agent
from agents.schedules import frames_to_steps, linear_epsilon
from envs import build_env, env_state, human_normalized_score
from replay import build_replay
from training.allocator import keep_freed_memory
from training.checkpoint import (
    CheckpointError,
    check_checkpoint_agent,
    latest_checkpoint,
    load_checkpoint,
    remove_partial_checkpoints,
    save_checkpoint,
)
from training.config import TrainConfig
from training.evaluation import run_episodes
from training.logging import MetricLogger
from training.rundir import (
    CONFIG_FILE,
    RunDirError,
    atomic_write_text,
    move_run_aside,
    prepare_run_dir,
    write_status,
)
from training.validation import ConfigError, validate_config


class NonFiniteError(RuntimeError):
    """A loss, gradient norm or Q-value became NaN or infinite."""


class UpdateMetrics:
    """The scalar metrics of every update since the last log, kept on the device as one tensor.

    `record` writes update i's metrics into row i of a preallocated [rows, K] float32 tensor with a
    single `torch.stack(..., out=)` (no host sync; the rows double when full), so one update costs
    one small device op here instead of a dozen (per-key sums plus a non-finite watch).
    `check` (one host sync) raises NonFiniteError naming the earliest update since the last check
    with a non-finite metric; `drain` checks, returns the window's mean of each metric, and starts a
    new window.
    """

    def __init__(self, device: torch.device, rows: int = 1024) -> None:
        self.device = device
        self.keys: list[str] | None = None
        self._rows = rows
        self._values: Tensor | None = None
        self._count = 0  # rows of the current window written
        self._checked = 0  # rows of the current window already checked
        self._first_update = 0  # update index (0-based) of row 0

    def __len__(self) -> int:
        return self._count

    def record(self, metrics: dict[str, Tensor], update: int) -> None:
        """Record update `update`'s (0-based) scalar metrics; the same keys every call."""
        if self.keys is None:
            self.keys = list(metrics)
        elif list(metrics) != self.keys:
            raise ValueError(f"update metrics changed from {self.keys} to {list(metrics)}")
        if self._values is None or self._count == self._values.shape[0]:
            grown = torch.empty((max(self._rows, 2 * self._count), len(self.keys)), dtype=torch.float32,
                                device=self.device)
            if self._values is not None:
                grown[: self._count].copy_(self._values[: self._count])
            self._values = grown
        if self._count == 0:
            self._first_update = update
        torch.stack([metrics[k] for k in self.keys], out=self._values[self._count])
        self._count += 1

    def check(self, frames: int) -> None:
        """Raise NonFiniteError if an update recorded since the last check had a non-finite metric."""
        if self._values is None or self._checked == self._count:
            return
        rows = self._values[self._checked : self._count]
        bad = ~torch.isfinite(rows)  # [R, K]
        bad_rows = bad.any(1)
        if bool(bad_rows.any()):
            first_row = int(bad_rows.int().argmax())
            first_keys = bad[first_row].tolist()
            key = self.keys[first_keys.index(True)]  # ties: the first metric, "loss"
            others = sorted({k for k, b in zip(self.keys, bad.any(0).tolist(), strict=True) if b} - {key})
            also = f" (also non-finite since: {', '.join(others)})" if others else ""
            update = self._first_update + self._checked + first_row
            raise NonFiniteError(f"non-finite {key} at update {update + 1} (checked at frame {frames}){also}; "
                                 "the newest checkpoint predates it")
        self._checked = self._count

    def drain(self, frames: int) -> dict[str, float]:
        """Check, then {key: mean over the window's updates} ({} if none), and start a new window."""
        if self._count == 0:
            return {}
        self.check(frames)
        means = self._values[: self._count].mean(0).tolist()
        self._count = self._checked = 0
        return dict(zip(self.keys, means, strict=True))


def overlap_env(setting: str, device: torch.device) -> bool:
    """Whether the env steps while the agent updates (`trainer.overlap`: "on" | "off" | "auto").

    "auto" overlaps on a GPU (the update there is kernel launches, and the env's worker threads have
    the host cores) and on a CPU with more usable cores than torch's threads. With the update on
    every core (torch's default), the env's worker thread would only take cores from it.
    """
    if setting != "auto":
        return setting == "on"
    return device.type == "cuda" or available_cores() > torch.get_num_threads()


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    sched_getaffinity = getattr(os, "sched_getaffinity", None)
    return len(sched_getaffinity(0)) if sched_getaffinity is not None else os.cpu_count() or 1


def resolve_device(name: str) -> torch.device:
    """`auto` → the first CUDA device when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@dataclass
class Counters:
    """Everything the loop counts; saved with every checkpoint."""

    agent_steps: int = 0
    updates: int = 0
    episodes: int = 0
    last_target_sync_step: int = 0
    last_eval_frames: int = 0
    last_checkpoint_frames: int = 0
    last_log_frames: int = 0
    recent_returns: list[float] = field(default_factory=list)


def metric_tag(key: str) -> str:
    """The log tag of an `Agent.update` metric (DESIGN.md's tag list)."""
    if key == "loss":
        return "loss/td"
    if key.endswith("_loss"):
        return f"loss/{key[: -len('_loss')]}"
    if key == "q_mean":
        return "q/mean"
    return f"agent/{key}"


class _StopFlag:
    """Set by SIGTERM/SIGUSR1/SIGUSR2 (Slurm and submitit's preemption signals)."""

    SIGNALS = ("SIGTERM", "SIGUSR1", "SIGUSR2")

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for name in self.SIGNALS:
            signum = getattr(signal, name)
            try:
                self._previous[signum] = signal.signal(signum, self._handle)
            except ValueError:  # not the main thread: signals stay with the caller
                return

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        self.signal_name = signal.Signals(signum).name


class Trainer:
    """Owns the env, agent, replay and logger of one run directory."""

    def __init__(self, cfg: TrainConfig) -> None:
        validate_config(cfg)
        self.cfg = cfg
        self.run_dir = Path(cfg.run_dir)
        self.device = resolve_device(cfg.trainer.device)
        self.replaced_run: Path | None = None
        if not cfg.trainer.resume:
            self.replaced_run = move_run_aside(self.run_dir)
        prepare_run_dir(self.run_dir)
        if cfg.trainer.torch_threads > 0:
            torch.set_num_threads(cfg.trainer.torch_threads)
        self.overlap_env = overlap_env(cfg.trainer.overlap, self.device)
        keep_freed_memory()  # the update's temporaries are reused, not page-faulted in afresh each update
        random.seed(cfg.seed)
        np.random.seed(cfg.seed)
        torch.manual_seed(cfg.seed)

        self.env = build_env(cfg.env, seed=cfg.seed)
        self._eval_env = None
        self.obs_shape = (self.env.stack, *self.env.frame_shape)
        self.agent = build_agent(cfg.agent, self.obs_shape, self.env.num_actions, self.device, seed=cfg.seed)
        self.replay = build_replay(
            cfg.replay,
            num_envs=self.env.num_envs,
            frame_shape=self.env.frame_shape,
            frame_dtype=self.env.frame_dtype,
            stack=self.env.stack,
            n_step=cfg.agent.n_step,
            gamma=cfg.agent.gamma,
            reward_clip=cfg.agent.reward_clip,
            batch_size=cfg.agent.batch_size,
            device=self.device,
            seed=cfg.seed,
        )
        self.counters = Counters()
        self.probe_obs: np.ndarray | None = None
        self.resumed_from: str | None = None
        self.update_metrics = UpdateMetrics(self.device)
        # The loop's in-flight state, kept current so a checkpoint can save it (see `checkpoint_parts`).
        self._obs: np.ndarray | None = None
        self._first: np.ndarray | None = None
        self._episode_return: np.ndarray | None = None
        self._restored_loop: dict[str, Any] | None = None

    # -- units -----------------------------------------------------------------------------------
    @property
    def frames(self) -> int:
        return self.counters.agent_steps * self.env.frames_per_step

    @property
    def is_atari(self) -> bool:
        return self.cfg.env.kind == "atari"

    def hns(self, score: float) -> float:
        return float(human_normalized_score(self.cfg.env.game, score))

    # -- state -----------------------------------------------------------------------------------
    def checkpoint_parts(self) -> dict[str, Any]:
        """Everything the run needs to continue as if never stopped: agent (networks, optimizers, its
        generators), replay (contents, write position, priorities, sampler), counters, RNG states and,
        where the env can save one, its mid-episode state with the loop's current obs."""
        loop = None
        env = env_state(self.env) if self._obs is not None else None
        if env is not None:
            loop = {"env": env, "obs": self._obs, "first": self._first, "episode_return": self._episode_return}
        trainer_state = {
            "agent_name": self.cfg.agent.name,
            "head_kind": self.cfg.agent.head.kind,
            "counters": asdict(self.counters),
            "probe_obs": self.probe_obs,
            "loop": loop,
            "rng": {
                "python": random.getstate(),
                "numpy": np.random.get_state(),
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            },
        }
        return {"agent": self.agent.state_dict(), "replay": self.replay.state_dict(), "trainer": trainer_state}

    def save(self) -> Path:
        """Write a checkpoint of the current state (never one with a non-finite update in it)."""
        self.update_metrics.check(self.frames)
        path = save_checkpoint(self.run_dir, self.frames, self.checkpoint_parts(),
                               keep=self.cfg.trainer.keep_checkpoints)
        self.counters.last_checkpoint_frames = self.frames
        return path

    def restore(self, path: Path) -> None:
        """Load checkpoint `path` into this trainer (it must come from the same agent and shapes)."""
        # Every part loads on the CPU and its owner puts it in place: modules copy into their
        # parameters, optimizers move their state to the parameters' device but keep non-capturable
        # `step` counts on the CPU (as in a run never stopped), and RNG states must be CPU tensors.
        state = load_checkpoint(path, ["trainer"])["trainer"]
        check_checkpoint_agent(path, state, self.cfg.agent.name, self.cfg.agent.head.kind)
        try:
            self.agent.load_state_dict(load_checkpoint(path, ["agent"])["agent"])
            # Mapped, not read, and copied into the buffer's own storage: no second copy in RAM.
            self.replay.load_state_dict(load_checkpoint(path, ["replay"], mmap=True)["replay"])
        except (RuntimeError, ValueError, KeyError) as error:
            raise CheckpointError(f"checkpoint {path} does not fit this run's config ({error}); start a fresh "
                                  "run with trainer.resume=false (the old run is moved aside)") from error
        self.counters = Counters(**state["counters"])
        self.probe_obs = state["probe_obs"]
        self._restored_loop = state.get("loop")
        rng = state["rng"]
        random.setstate(rng["python"])
        np.random.set_state(rng["numpy"])
        torch.set_rng_state(rng["torch"])
        if rng["cuda"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])

    # -- phases ----------------------------------------------------------------------------------
    @property
    def eval_env(self):
        if self._eval_env is None:
            self._eval_env = build_env(self.cfg.env, num_envs=self.cfg.env.eval_num_envs, seed=self.cfg.seed + 7919)
        return self._eval_env

    def evaluate(self, logger: MetricLogger, stop: _StopFlag | None = None) -> dict[str, float] | None:
        """One evaluation phase with the agent's evaluation ε; logs `eval/*`.

        A stop signal during the phase abandons it (returns None, nothing logged): the run checkpoints
        at once and the resumed run evaluates again.
        """
        result = run_episodes(self.agent, self.eval_env, epsilon=self.cfg.agent.eval_epsilon,
                              num_episodes=self.cfg.trainer.eval_episodes, device=self.device,
                              seed=self.cfg.seed + 104729 + self.counters.updates,
                              should_stop=None if stop is None else lambda: stop.signal_name is not None)
        if result.interrupted:
            return None
        values = {
            "eval/return": float(np.mean(result.returns)),
            "eval/return_std": float(np.std(result.returns)),
            "eval/episode_frames": float(np.mean(result.frames)),
        }
        if self.is_atari:
            values["eval/hns"] = self.hns(values["eval/return"])
        logger.scalars(self.frames, values)
        self.log_probe(logger)
        self.counters.last_eval_frames = self.frames
        return values

    def log_probe(self, logger: MetricLogger) -> None:
        """Histogram of the predicted return distribution of the greedy action at a fixed probe state."""
        if self.probe_obs is None:
            return
        obs = torch.from_numpy(self.probe_obs).to(self.device)
        dist = self.agent.predict(obs)
        q = dist.q_values()[0]
        action = int(torch.argmax(q))
        values = dist.values[0, action].detach().float().cpu().numpy()
        probs = torch.broadcast_to(dist.probs, dist.values.shape)[0, action].detach().float().cpu().numpy()
        logger.scalars(self.frames, {"probe/q_greedy": float(q[action])})
        if values.size > 1:
            # A weighted sample of the atoms, so the TensorBoard histogram shows the distribution.
            counts = np.maximum(np.round(probs / probs.sum() * 1000).astype(np.int64), 0)
            logger.histogram(self.frames, "probe/return_distribution", np.repeat(values, counts))

    def reached_target_return(self, recent: deque) -> bool:
        """Whether the last `stop_window_episodes` training returns average `stop_at_mean_return`."""
        target, window = self.cfg.trainer.stop_at_mean_return, self.cfg.trainer.stop_window_episodes
        if target is None or len(recent) < window:
            return False
        return float(np.mean(list(recent)[-window:])) >= target

    # -- the loop --------------------------------------------------------------------------------
    def train(self) -> str:
        """Run to `trainer.total_frames` (or a stop signal); returns the final status."""
        cfg = self.cfg
        atomic_write_text(self.run_dir / CONFIG_FILE, OmegaConf.to_yaml(OmegaConf.structured(cfg)))
        remove_partial_checkpoints(self.run_dir)
        resumed_from = latest_checkpoint(self.run_dir)
        if resumed_from is not None:
            self.restore(resumed_from)
        self.resumed_from = str(resumed_from) if resumed_from else None
        write_status(self.run_dir, "running", frames=self.frames, resumed_from=self.resumed_from,
                     replaced_run=str(self.replaced_run) if self.replaced_run else None)
        # Records past the checkpoint (written before a kill) are dropped, so curves never double back.
        logger = MetricLogger(self.run_dir, tensorboard=cfg.logger.tensorboard, jsonl=cfg.logger.jsonl,
                              purge_after_frames=self.frames if resumed_from is not None else None)
        options = self.env.options()
        (self.run_dir / "env_options.json").write_text(json.dumps(options, indent=2, default=str) + "\n")
        logger.text("env/options", json.dumps(options, indent=2, default=str))
        logger.hparams(asdict(cfg), metrics=("eval/return", "eval/hns") if self.is_atari else ("eval/return",))
        stop = _StopFlag()
        stop.install()
        try:
            status = self._loop(logger, stop)
        finally:
            stop.restore()
            logger.close()
            self.env.close()
            if self._eval_env is not None:
                self._eval_env.close()
        return status

    def _loop(self, logger: MetricLogger, stop: _StopFlag) -> str:
        cfg, agent_cfg, counters = self.cfg, self.cfg.agent, self.counters
        num_envs = self.env.num_envs
        total_steps = frames_to_steps(cfg.trainer.total_frames, self.env.frames_per_step)
        restored = self._restored_loop
        if restored is not None:
            self.env.load_state_dict(restored["env"])
            obs, first = restored["obs"].copy(), restored["first"].copy()
            episode_return = restored["episode_return"].copy()
        else:
            obs = self.env.reset(seed=cfg.seed + counters.agent_steps)
            first = np.ones(num_envs, dtype=bool)
            episode_return = np.zeros(num_envs, dtype=np.float64)
        self._restored_loop = None
        if self.probe_obs is None:
            self.probe_obs = obs[:1].copy()
        self._obs, self._first, self._episode_return = obs, first, episode_return
        recent = deque(counters.recent_returns, maxlen=100)
        learning = False
        window_start = (time.perf_counter(), self.frames, counters.updates)
        bar = tqdm(total=cfg.trainer.total_frames, initial=self.frames, unit="frame", unit_scale=True,
                   disable=not cfg.trainer.progress, dynamic_ncols=True, mininterval=1.0)
        while counters.agent_steps < total_steps:
            if stop.signal_name is not None:
                counters.recent_returns = list(recent)
                self.save()
                write_status(self.run_dir, "preempted", frames=self.frames, signal=stop.signal_name)
                bar.close()
                return "preempted"
            epsilon = linear_epsilon(counters.agent_steps, start=agent_cfg.epsilon.start, end=agent_cfg.epsilon.end,
                                     decay_steps=agent_cfg.epsilon.decay_steps, warmup_steps=agent_cfg.warmup_steps)
            actions = self.agent.act(torch.from_numpy(obs).to(self.device), epsilon).cpu().numpy()
            # The updates of this step never see its transition, so running the env during them
            # (overlap) or before them gives the same run; see `overlap_env`.
            self.env.step_async(actions)
            if not self.overlap_env:
                step = self.env.step_wait()
            counters.agent_steps += num_envs

            # Learning starts once warm-up is over and a batch can be drawn, and never stops (the buffer only grows).
            learning = learning or (counters.agent_steps >= agent_cfg.warmup_steps and self.replay.can_sample())
            if learning:
                due = (counters.agent_steps - agent_cfg.warmup_steps) // agent_cfg.train_period_steps + 1
                # PER's β schedule and priorities; both calls are no-ops on the uniform buffer.
                self.replay.set_step(counters.agent_steps)
                while counters.updates < due:
                    batch = self.replay.sample()
                    metrics = self.agent.update(batch)
                    self.replay.update_priorities(batch.index, metrics.pop("priorities"))
                    self.update_metrics.record(metrics, counters.updates)
                    counters.updates += 1
            if counters.agent_steps - counters.last_target_sync_step >= agent_cfg.target_update_period_steps:
                self.agent.sync_target()
                counters.last_target_sync_step = counters.agent_steps

            if self.overlap_env:
                step = self.env.step_wait()
            self.replay.add(obs[:, -1], first, actions, step.reward, step.terminated, step.truncated)
            bar.update(num_envs * self.env.frames_per_step)

            episode_return += step.reward
            ended = step.terminated | step.truncated
            if ended.any():
                for i in np.flatnonzero(ended):
                    counters.episodes += 1
                    recent.append(float(episode_return[i]))
                    values = {"train/episode_return": float(episode_return[i])}
                    if self.is_atari:
                        values["train/hns"] = self.hns(episode_return[i])
                    logger.scalars(self.frames, values)
                episode_return[ended] = 0.0
                bar.set_postfix(ret=f"{np.mean(recent):.1f}", eps=f"{epsilon:.3f}", refresh=False)
                solved = self.reached_target_return(recent)
            else:
                solved = False
            first = step.first
            obs = step.obs
            self._obs, self._first = obs, first

            frames = self.frames
            done = counters.agent_steps >= total_steps or solved
            if frames - counters.last_log_frames >= cfg.trainer.log_period_frames or done:
                now = time.perf_counter()
                elapsed = max(now - window_start[0], 1e-9)
                values = {
                    "perf/frames_per_s": (frames - window_start[1]) / elapsed,
                    "perf/updates_per_s": (counters.updates - window_start[2]) / elapsed,
                    "train/epsilon": epsilon,
                    "replay/size": float(len(self.replay)),
                }
                for key, mean in self.update_metrics.drain(frames).items():
                    values[metric_tag(key)] = mean
                logger.scalars(frames, values)
                window_start = (now, frames, counters.updates)
                counters.last_log_frames = frames
            if frames - counters.last_eval_frames >= cfg.trainer.eval_period_frames or done:
                self.evaluate(logger, stop)
            if frames - counters.last_checkpoint_frames >= cfg.trainer.checkpoint_period_frames or done:
                counters.recent_returns = list(recent)
                self.save()
            if solved:
                break
        bar.close()
        write_status(self.run_dir, "done", frames=self.frames, updates=counters.updates, episodes=counters.episodes,
                     recent_mean_return=float(np.mean(recent)) if recent else None, resumed_from=self.resumed_from)
        return "done"


def run(cfg: TrainConfig) -> str:
    """Train one run from a typed config; returns the final status (`done` or `preempted`).

    A rejected config (ConfigError) or unusable run dir (RunDirError) raises before anything is built.
    Any later error writes `status.json` `failed` with the error, then propagates.
    """
    trainer: Trainer | None = None
    try:
        trainer = Trainer(cfg)
        return trainer.train()
    except (ConfigError, RunDirError):
        raise
    except BaseException as error:
        if Path(cfg.run_dir).is_dir():
            with contextlib.suppress(OSError):  # a full disk: the error itself still reaches the user
                write_status(Path(cfg.run_dir), "failed", error=f"{type(error).__name__}: {error}",
                             frames=trainer.frames if trainer is not None else None)
        raise
