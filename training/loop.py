"""The training loop shared by every agent: act on all envs, remember, learn, evaluate, checkpoint.

Counting: one vector step of E envs is E agent steps and E * frames_per_step frames. The agent's
periods (replay ratio, target sync, ε decay, warm-up) are in agent steps; the trainer's (logging,
evaluation, checkpoints, budget) in frames, the x-axis of every log.

Order of a vector step (`Trainer._loop`): act -> env step started -> the updates due -> env step
collected -> replay write -> episode ends -> periodic work (log, evaluate, checkpoint). The updates
never see the step's own transition, so the env may run during them (`trainer.overlap`: ale-py's C++
worker threads step the emulators while torch updates) or before them, with identical results
(tests/training/test_overlap.py). "auto" overlaps on a GPU or when the machine has more cores than
torch's threads (`training.device.overlap_env`).

Resuming: starting again with the same config (hence the same run dir) loads the newest complete
checkpoint — agent, optimizers, replay, counters, RNG states — says so on the console and in the
job's log, and continues. Classic-control envs are saved mid-episode too, so a CartPole run resumes
on exactly the trajectory it would have followed; ale-py's vector env cannot save its emulators, so an
Atari run starts fresh episodes on resume. `trainer.resume=false` moves an existing run aside
(`<run dir>.replaced-<time>`) before starting over.

Faults: every update's loss, gradient norms and mean Q are recorded on the device
(`training.metrics.UpdateMetrics`, no host sync per update) and checked for NaN/inf at each log and
before each checkpoint, so a non-finite update stops the run (`NonFiniteError`, status `failed`)
naming the update and the metric, and the newest checkpoint on disk is always one from before it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf
from tqdm import tqdm

from agents import build_agent
from envs import build_env, env_state, human_normalized_score
from envs.base import VecStep
from replay import build_replay
from training.allocator import keep_freed_memory
from training.checkpoint import (
    check_checkpoint_agent,
    check_checkpoint_format,
    checkpoint_mismatch,
    latest_checkpoint,
    load_checkpoint,
    remove_partial_checkpoints,
    save_checkpoint,
)
from training.config import TrainConfig
from training.device import overlap_env, resolve_device
from training.evaluation import run_evaluation
from training.logging import MetricLogger, metric_tag
from training.metrics import NonFiniteError, UpdateMetrics
from training.resume import check_resume
from training.rundir import (
    CONFIG_FILE,
    RunDirError,
    atomic_write_text,
    move_run_aside,
    prepare_run_dir,
    write_status,
)
from training.schedules import frames_to_steps, linear_beta, linear_epsilon
from training.signals import StopFlag
from training.validation import ConfigError, validate_config

__all__ = ["Counters", "NonFiniteError", "Trainer", "run"]

log = logging.getLogger(__name__)

# The evaluation env and each evaluation phase play from seeds of their own: `cfg.seed` plus a large
# prime, so that they coincide neither with the training env's seeds (`cfg.seed + agent steps` at each
# reset) nor with the seeds of the neighbouring runs of a sweep (seed 0, 1, 2, ...).
EVAL_ENV_SEED_OFFSET = 7919  # the 1000th prime
EVAL_PHASE_SEED_OFFSET = 104729  # the 10000th prime; each phase adds the update count


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


class Trainer:
    """Owns the env, agent, replay and logger of one run directory."""

    def __init__(self, cfg: TrainConfig) -> None:
        validate_config(cfg)
        self.cfg = cfg
        self.run_dir = Path(cfg.run_dir)
        self.device = resolve_device(cfg.trainer.device)
        self.replaced_run: Path | None = None
        if cfg.trainer.resume:
            check_resume(self.run_dir, cfg)
        else:
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
        self._recent: deque[float] = deque(maxlen=100)  # the last training returns (progress bar, early stop)
        self._learning = False
        self._log_window: tuple[float, int, int] = (0.0, 0, 0)  # (time, frames, updates) at the last log

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
        self.counters.recent_returns = list(self._recent)
        previous = self.counters.last_checkpoint_frames
        self.counters.last_checkpoint_frames = self.frames  # saved so: a resume does not checkpoint again at once
        try:
            return save_checkpoint(self.run_dir, self.frames, self.checkpoint_parts(),
                                   keep=self.cfg.trainer.keep_checkpoints)
        except BaseException:
            self.counters.last_checkpoint_frames = previous
            raise

    def restore(self, path: Path) -> None:
        """Load checkpoint `path` into this trainer (it must come from the same agent and shapes).

        A checkpoint of another format, or one whose parts do not fit this run, raises CheckpointError
        naming the mismatch and the way out (`trainer.resume=false`).
        """
        found_format = check_checkpoint_format(path)
        # Every part loads on the CPU and its owner puts it in place: modules copy into their
        # parameters, optimizers move their state to the parameters' device but keep non-capturable
        # `step` counts on the CPU (as in a run never stopped), and RNG states must be CPU tensors.
        state = load_checkpoint(path, ["trainer"])["trainer"]
        check_checkpoint_agent(path, state, self.cfg.agent.name, self.cfg.agent.head.kind)
        try:
            self.agent.load_state_dict(load_checkpoint(path, ["agent"])["agent"])
            # Mapped, not read, and copied into the buffer's own storage: no second copy in RAM.
            self.replay.load_state_dict(load_checkpoint(path, ["replay"], mmap=True)["replay"])
            self.counters = Counters(**state["counters"])
        except (RuntimeError, ValueError, KeyError, TypeError) as error:
            raise checkpoint_mismatch(path, found_format, error) from error
        self._recent = deque(self.counters.recent_returns, maxlen=self._recent.maxlen)
        self.probe_obs = state["probe_obs"]
        self._restored_loop = state.get("loop")
        rng = state["rng"]
        random.setstate(rng["python"])
        np.random.set_state(rng["numpy"])
        torch.set_rng_state(rng["torch"])
        if rng["cuda"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])

    # -- evaluation ------------------------------------------------------------------------------
    @property
    def eval_env(self):
        if self._eval_env is None:
            self._eval_env = build_env(self.cfg.env, num_envs=self.cfg.env.eval_num_envs,
                                       seed=self.cfg.seed + EVAL_ENV_SEED_OFFSET)
        return self._eval_env

    def evaluate(self, logger: MetricLogger, stop: StopFlag | None = None) -> dict[str, float] | None:
        """One evaluation phase of `trainer.eval_frames` frames with the agent's evaluation ε; logs `eval/*`.

        `eval/return` is the mean over the episodes completed within the budget (`eval/episodes` of
        them); `eval/incomplete` is 1 when none completed and the return is the unfinished episodes'.
        A stop signal during the phase abandons it (returns None, nothing logged): the run checkpoints
        at once and the resumed run evaluates again.
        """
        result = run_evaluation(self.agent, self.eval_env, epsilon=self.cfg.agent.eval_epsilon,
                                budget_frames=self.cfg.trainer.eval_frames, device=self.device,
                                seed=self.cfg.seed + EVAL_PHASE_SEED_OFFSET + self.counters.updates,
                                should_stop=None if stop is None else lambda: stop.requested)
        if result.interrupted:
            return None
        values = {
            "eval/return": float(np.mean(result.returns)),
            "eval/return_std": float(np.std(result.returns)),
            "eval/episode_frames": float(np.mean(result.frames)),
            "eval/episodes": float(result.completed_episodes),
            "eval/incomplete": float(result.incomplete),
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

    def reached_target_return(self) -> bool:
        """Whether the last `stop_window_episodes` training returns average `stop_at_mean_return`."""
        target, window = self.cfg.trainer.stop_at_mean_return, self.cfg.trainer.stop_window_episodes
        if target is None or len(self._recent) < window:
            return False
        return float(np.mean(list(self._recent)[-window:])) >= target

    # -- the run ---------------------------------------------------------------------------------
    def train(self) -> str:
        """Run to `trainer.total_frames` (or a stop signal); returns the final status."""
        cfg = self.cfg
        atomic_write_text(self.run_dir / CONFIG_FILE, OmegaConf.to_yaml(OmegaConf.structured(cfg)))
        resumed = self._resume()
        write_status(self.run_dir, "running", frames=self.frames, resumed_from=self.resumed_from,
                     replaced_run=str(self.replaced_run) if self.replaced_run else None)
        # Records past the checkpoint (written before a kill) are dropped, so curves never double back.
        logger = MetricLogger(self.run_dir, tensorboard=cfg.logger.tensorboard, jsonl=cfg.logger.jsonl,
                              purge_after_frames=self.frames if resumed else None)
        options = self.env.options()
        (self.run_dir / "env_options.json").write_text(json.dumps(options, indent=2, default=str) + "\n")
        logger.text("env/options", json.dumps(options, indent=2, default=str))
        logger.hparams(asdict(cfg), metrics=("eval/return", "eval/hns") if self.is_atari else ("eval/return",))
        stop = StopFlag()
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

    def _resume(self) -> bool:
        """Restore the newest complete checkpoint of the run dir, if any, and say so on the console and
        in the job's log (Hydra's `train.log`); returns whether one was restored."""
        remove_partial_checkpoints(self.run_dir)
        path = latest_checkpoint(self.run_dir)
        if path is None:
            return False
        self.restore(path)
        self.resumed_from = str(path)
        log.info("resumed from %s at %d frames", path.relative_to(self.run_dir), self.frames)
        return True

    def _loop(self, logger: MetricLogger, stop: StopFlag) -> str:
        """Vector steps until the frame budget, the target return or a stop signal (module docstring)."""
        counters = self.counters
        total_steps = frames_to_steps(self.cfg.trainer.total_frames, self.env.frames_per_step)
        self._start_episodes()
        self._log_window = (time.perf_counter(), self.frames, counters.updates)
        bar = tqdm(total=self.cfg.trainer.total_frames, initial=self.frames, unit="frame", unit_scale=True,
                   disable=not self.cfg.trainer.progress, dynamic_ncols=True, mininterval=1.0)
        try:
            while counters.agent_steps < total_steps:
                if stop.requested:
                    return self._stop_for_signal(stop.signal_name)
                epsilon = self.epsilon()
                actions = self._act(epsilon)
                if not self.overlap_env:
                    step = self.env.step_wait()
                self._learn()
                if self.overlap_env:
                    step = self.env.step_wait()
                self.replay.add(self._obs[:, -1], self._first, actions, step.reward, step.terminated, step.truncated)
                bar.update(self.env.num_envs * self.env.frames_per_step)
                solved = self._end_episodes(step, logger, bar, epsilon)
                self._periodic_work(logger, stop, epsilon, done=counters.agent_steps >= total_steps or solved)
                if solved:
                    break
        finally:
            bar.close()
        write_status(self.run_dir, "done", frames=self.frames, updates=counters.updates, episodes=counters.episodes,
                     recent_mean_return=float(np.mean(self._recent)) if self._recent else None,
                     resumed_from=self.resumed_from)
        return "done"

    # -- the phases of a vector step -------------------------------------------------------------
    def _start_episodes(self) -> None:
        """Restore phase: continue the episodes a checkpoint saved mid-way, or reset every env."""
        restored, self._restored_loop = self._restored_loop, None
        if restored is not None:
            self.env.load_state_dict(restored["env"])
            self._obs, self._first = restored["obs"].copy(), restored["first"].copy()
            self._episode_return = restored["episode_return"].copy()
        else:
            self._obs = self.env.reset(seed=self.cfg.seed + self.counters.agent_steps)
            self._first = np.ones(self.env.num_envs, dtype=bool)
            self._episode_return = np.zeros(self.env.num_envs, dtype=np.float64)
        if self.probe_obs is None:
            self.probe_obs = self._obs[:1].copy()

    def epsilon(self) -> float:
        """The exploration ε of the current agent step (`agent.epsilon`, after `agent.warmup_steps`)."""
        schedule = self.cfg.agent.epsilon
        return linear_epsilon(self.counters.agent_steps, start=schedule.start, end=schedule.end,
                              decay_steps=schedule.decay_steps, warmup_steps=self.cfg.agent.warmup_steps)

    def _act(self, epsilon: float) -> np.ndarray:
        """Act phase: ε-greedy actions for every env, and the env step started with them."""
        actions = self.agent.act(torch.from_numpy(self._obs).to(self.device), epsilon).cpu().numpy()
        self.env.step_async(actions)
        self.counters.agent_steps += self.env.num_envs
        return actions

    def _learn(self) -> None:
        """Learn phase: the updates due by now (one per `train_period_steps` after warm-up) and the
        target sync. Learning starts once warm-up is over and a batch can be drawn, and never stops
        (the buffer only grows)."""
        agent_cfg, replay_cfg, counters = self.cfg.agent, self.cfg.replay, self.counters
        self._learning = self._learning or (counters.agent_steps >= agent_cfg.warmup_steps
                                            and self.replay.can_sample())
        if self._learning:
            due = (counters.agent_steps - agent_cfg.warmup_steps) // agent_cfg.train_period_steps + 1
            # PER's β and priorities; both calls are no-ops on the uniform buffer.
            self.replay.set_beta(linear_beta(counters.agent_steps, start=replay_cfg.beta_start,
                                             end=replay_cfg.beta_end, anneal_steps=replay_cfg.beta_anneal_steps))
            while counters.updates < due:
                batch = self.replay.sample()
                metrics = self.agent.update(batch)
                self.replay.update_priorities(batch.index, metrics.pop("priorities"))
                self.update_metrics.record(metrics, counters.updates)
                counters.updates += 1
        if counters.agent_steps - counters.last_target_sync_step >= agent_cfg.target_update_period_steps:
            self.agent.sync_target()
            counters.last_target_sync_step = counters.agent_steps

    def _end_episodes(self, step: VecStep, logger: MetricLogger, bar: tqdm, epsilon: float) -> bool:
        """Episode-ends phase: log each finished episode's return, move on to the step's observations;
        returns whether the recent returns reached `trainer.stop_at_mean_return`."""
        self._episode_return += step.reward
        ended = step.terminated | step.truncated
        solved = False
        if ended.any():
            for i in np.flatnonzero(ended):
                self.counters.episodes += 1
                self._recent.append(float(self._episode_return[i]))
                values = {"train/episode_return": float(self._episode_return[i])}
                if self.is_atari:
                    values["train/hns"] = self.hns(self._episode_return[i])
                logger.scalars(self.frames, values)
            self._episode_return[ended] = 0.0
            bar.set_postfix(ret=f"{np.mean(self._recent):.1f}", eps=f"{epsilon:.3f}", refresh=False)
            solved = self.reached_target_return()
        self._obs, self._first = step.obs, step.first
        return solved

    def _periodic_work(self, logger: MetricLogger, stop: StopFlag, epsilon: float, done: bool) -> None:
        """Periodic phase: log, evaluate and checkpoint when their period in frames has passed, and all
        three at the end of the run."""
        frames, counters, trainer_cfg = self.frames, self.counters, self.cfg.trainer
        if frames - counters.last_log_frames >= trainer_cfg.log_period_frames or done:
            self._log_training(logger, epsilon)
        if frames - counters.last_eval_frames >= trainer_cfg.eval_period_frames or done:
            self.evaluate(logger, stop)
        if frames - counters.last_checkpoint_frames >= trainer_cfg.checkpoint_period_frames or done:
            self.save()

    def _log_training(self, logger: MetricLogger, epsilon: float) -> None:
        """Log throughput since the last log, ε, the replay's size, the mean update metrics and, once
        learning has started, the optimizers' ε-dominated fractions."""
        frames, updates = self.frames, self.counters.updates
        now = time.perf_counter()
        start_time, start_frames, start_updates = self._log_window
        elapsed = max(now - start_time, 1e-9)
        values = {
            "perf/frames_per_s": (frames - start_frames) / elapsed,
            "perf/updates_per_s": (updates - start_updates) / elapsed,
            "train/epsilon": epsilon,
            "replay/size": float(len(self.replay)),
        }
        for key, mean in self.update_metrics.drain(frames).items():
            values[metric_tag(key)] = mean
        if self.counters.updates > 0:
            values.update({f"optim/{key}": value for key, value in self.agent.optimizer_stats().items()})
        logger.scalars(frames, values)
        self._log_window = (now, frames, updates)
        self.counters.last_log_frames = frames

    def _stop_for_signal(self, signal_name: str) -> str:
        """Checkpoint at once and record the preemption; the restarted job resumes from here."""
        self.save()
        write_status(self.run_dir, "preempted", frames=self.frames, signal=signal_name)
        return "preempted"


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
