"""Training a path integrator: trajectories → targets → cross-entropy, with run dirs, metrics and checkpoints.

`build_task(name, cfg)` fixes the supervised cells (drawn from the run's seed, so an analysis rebuilds the same
ones) and the network; `train(name, cfg, run_dir)` trains it for `train_steps` minibatches of fresh
trajectories, logs to `metrics.jsonl` the loss, the place cross-entropy above its floor (the targets' entropy:
the KL divergence, what training can remove) next to that of a uniform prediction, and the decoded position
error, checkpoints atomically through
`training.checkpoint` and resumes from the latest checkpoint in `run_dir`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from neuro.gridcells.cells import HeadDirectionCells, PlaceCells
from neuro.gridcells.config import GridcellsConfig
from neuro.gridcells.models import BaninoNet, PathIntegrator, SorscherRNN, soft_cross_entropy, target_entropy
from neuro.gridcells.trajectories import MotionParams, Trajectories, simulate
from training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from training.logging import MetricLogger, read_metrics

__all__ = ["Task", "Batch", "motion_params", "build_task", "make_batch", "decoding_error_cm", "train", "load_trained"]


@dataclass(frozen=True)
class Task:
    """One network's supervision: its place cells, head-direction cells (Banino only) and input kind."""

    name: str
    place: PlaceCells
    hd: HeadDirectionCells | None
    inputs: str  # "egocentric" (speed, sin/cos angular velocity) or "velocity" (allocentric displacement)


@dataclass(frozen=True)
class Batch:
    inputs: torch.Tensor  # [B, T, I]
    init: torch.Tensor  # [B, C]: the targets at the start position (and heading)
    place: torch.Tensor  # [B, T, Np]: targets at positions 1..T
    hd: torch.Tensor | None  # [B, T, Nh]
    position: np.ndarray  # [B, T + 1, 2] metres


def motion_params(cfg: GridcellsConfig) -> MotionParams:
    a = cfg.arena
    return MotionParams(a.box_m, a.dt_s, a.speed_scale_m_s, a.turn_sd_rad_s, a.border_m)


def build_task(name: str, cfg: GridcellsConfig) -> tuple[Task, PathIntegrator]:
    """The cells (seeded by `cfg.seed` and the network's name) and a freshly initialised network."""
    rng = np.random.default_rng([cfg.seed, 0 if name == "banino" else 1])
    torch.manual_seed(cfg.seed)
    if name == "banino":
        b = cfg.banino
        place = PlaceCells.uniform(b.place_cells, cfg.arena.box_m, b.place_sigma_m, rng)
        hd = HeadDirectionCells.uniform(b.hd_cells, b.hd_concentration, rng)
        net = BaninoNet(3, b.place_cells + b.hd_cells, b.lstm_units, b.bottleneck_units, b.place_cells, b.hd_cells,
                        b.dropout, b.weight_decay)
        return Task(name, place, hd, "egocentric"), net
    if name == "sorscher":
        s = cfg.sorscher
        place = PlaceCells.uniform(s.place_cells, cfg.arena.box_m, s.place_sigma_m, rng, s.dog, s.surround_scale)
        return Task(name, place, None, "velocity"), SorscherRNN(2, s.place_cells, s.hidden_units, s.weight_decay)
    raise ValueError(f"unknown model {name!r}; valid: ['banino', 'sorscher']")


def make_batch(task: Task, traj: Trajectories) -> Batch:
    """Network inputs and targets for `traj`."""
    inputs = traj.egocentric_inputs() if task.inputs == "egocentric" else traj.velocity_inputs()
    init = task.place.activation(traj.position[:, 0])
    hd = None
    if task.hd is not None:
        init = np.concatenate([init, task.hd.activation(traj.heading[:, 0])], axis=-1)
        hd = torch.as_tensor(task.hd.activation(traj.heading[:, 1:]), dtype=torch.float32)
    return Batch(torch.as_tensor(inputs, dtype=torch.float32), torch.as_tensor(init, dtype=torch.float32),
                 torch.as_tensor(task.place.activation(traj.position[:, 1:]), dtype=torch.float32), hd, traj.position)


def decoding_error_cm(task: Task, place_logits: torch.Tensor, position: np.ndarray, k: int = 3) -> np.ndarray:
    """Distance (cm) [B, T] between the true positions 1..T and those decoded from the predicted place cells."""
    decoded = task.place.decode(torch.softmax(place_logits, -1).detach().numpy(), k)
    return 100 * np.linalg.norm(decoded - position[:, 1:], axis=-1)


def _optimizer(net: PathIntegrator, kind: str, lr: float, momentum: float) -> torch.optim.Optimizer:
    if kind == "rmsprop":
        return torch.optim.RMSprop(net.parameters(), lr=lr, momentum=momentum)
    return torch.optim.Adam(net.parameters(), lr=lr)


def _loss(task: Task, net: PathIntegrator, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total loss, place logits, place cross-entropy)."""
    _, place_logits, hd_logits = net(batch.inputs, batch.init)
    place_ce = soft_cross_entropy(place_logits, batch.place)
    loss = place_ce + net.regularizer()
    if hd_logits is not None:
        loss = loss + soft_cross_entropy(hd_logits, batch.hd)
    return loss, place_logits, place_ce


def train(name: str, cfg: GridcellsConfig, run_dir: Path, progress: bool = True) -> dict:
    """Train network `name` in `run_dir` (resuming from its latest checkpoint); returns its summary
    (steps, wall-clock seconds of training so far, last logged loss and decoding error, parameter count).
    Runs on `cfg.torch_threads` threads and restores the caller's thread count afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.torch_threads)
    try:
        return _train(name, cfg, Path(run_dir), progress)
    finally:
        torch.set_num_threads(threads)


def _train(name: str, cfg: GridcellsConfig, run_dir: Path, progress: bool) -> dict:
    run_dir.mkdir(parents=True, exist_ok=True)
    task, net = build_task(name, cfg)
    settings = getattr(cfg, name)
    opt = _optimizer(net, settings.optimizer, settings.learning_rate, getattr(settings, "momentum", 0.0))
    clip = getattr(settings, "grad_clip_value", 0.0)
    step, wall_s = 0, 0.0
    found = latest_checkpoint(run_dir)
    if found is not None:
        state = load_checkpoint(found, ["trainer"])["trainer"]
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, wall_s = state["step"], state["wall_s"]
    rng = np.random.default_rng([cfg.seed, 2, step])
    logger = MetricLogger(run_dir, tensorboard=False, purge_after_frames=step if found else None)
    params = motion_params(cfg)
    started = time.perf_counter()
    last = _last_logged(run_dir, step) if found else {}

    def save() -> None:
        save_checkpoint(run_dir, step, {"trainer": {"model": net.state_dict(), "optimizer": opt.state_dict(),
                                                    "step": step, "wall_s": wall_s + time.perf_counter() - started,
                                                    "name": name, "config": asdict(cfg)}})

    net.train()
    while step < settings.train_steps:
        batch = make_batch(task, simulate(settings.batch_size, settings.sequence_steps, params, rng))
        loss, place_logits, place_ce = _loss(task, net, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_value_(net.parameters(), clip)
        opt.step()
        step += 1
        if step % cfg.log_every_steps == 0 or step == settings.train_steps:
            error = float(decoding_error_cm(task, place_logits, batch.position).mean())
            floor = float(target_entropy(batch.place))
            uniform = float(soft_cross_entropy(torch.zeros_like(batch.place), batch.place))
            last = {"loss": float(loss.detach()), "place_loss_above_floor": float(place_ce.detach()) - floor,
                    "uniform_above_floor": uniform - floor, "decoding_error_cm": error,
                    "wall_s": wall_s + time.perf_counter() - started}
            logger.scalars(step, {f"train/{k}": v for k, v in last.items()})
            if progress:
                print(f"{name} step {step}/{settings.train_steps} loss {last['loss']:.3f}, place loss above its "
                      f"floor {last['place_loss_above_floor']:.4f} (uniform {last['uniform_above_floor']:.4f}), "
                      f"error {error:.1f} cm ({last['wall_s']:.0f} s)", flush=True)
        if step % cfg.checkpoint_every_steps == 0:
            save()
    save()
    logger.close()
    return {"model": name, "steps": step, "wall_s": wall_s + time.perf_counter() - started,
            "parameters": sum(p.numel() for p in net.parameters()), **{f"final_{k}": v for k, v in last.items()}}


def _last_logged(run_dir: Path, step: int) -> dict[str, float]:
    """The last metrics record at or before `step` (without its `train/` prefix), so that a rerun of a finished
    run still reports its final loss and decoding error."""
    records = [r for r in read_metrics(run_dir) if r.get("frames", 0) <= step and "train/loss" in r]
    return {k.removeprefix("train/"): v for k, v in records[-1].items() if k.startswith("train/")} if records else {}


def load_trained(name: str, cfg: GridcellsConfig, run_dir: Path) -> tuple[Task, PathIntegrator, dict]:
    """The task and the trained network (eval mode) from the latest checkpoint in `run_dir`, and its trainer state."""
    found = latest_checkpoint(Path(run_dir))
    if found is None:
        raise FileNotFoundError(f"no checkpoint in {run_dir}; train first: scripts/gridcells.py train --out DIR")
    task, net = build_task(name, cfg)
    state = load_checkpoint(found, ["trainer"])["trainer"]
    net.load_state_dict(state["model"])
    net.eval()
    return task, net, state
