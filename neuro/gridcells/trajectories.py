"""Rat-like random motion in a square box, as the trajectory generators of both studies produce it.

The motion model is Raudies & Hasselmo's (2012), used by Banino et al. (2018) and by Sorscher et al. (2019,
`trajectory_generator.py`): every step of `dt` seconds the speed is drawn afresh from a Rayleigh
distribution (scale `speed_scale_m_s`), the heading turns by a Gaussian rotational velocity (sd
`turn_sd_rad_s`, so sd·dt per step), and when the animal is within `border_m` of a wall and heading
towards it, it turns parallel to the wall and slows to a quarter of its speed. Positions are in metres with
the origin at the box centre.

The network inputs are egocentric (Banino: the speed and sin/cos of the angular velocity) or allocentric
(Sorscher: the velocity vector); the head direction is the heading at each step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MotionParams", "Trajectories", "avoid_walls", "simulate"]


@dataclass(frozen=True)
class MotionParams:
    """Raudies & Hasselmo's parameters, as both studies' generators set them."""

    box_m: float = 2.2
    dt_s: float = 0.02
    speed_scale_m_s: float = 0.13 * 2 * np.pi  # Rayleigh scale b of the forward speed (Sorscher's value)
    turn_sd_rad_s: float = 5.76 * 2  # sd of the rotational velocity
    border_m: float = 0.03  # within this distance of a wall the animal turns away
    wall_slowdown: float = 0.25  # speed factor near a wall

    def __post_init__(self) -> None:
        for name in ("box_m", "dt_s", "speed_scale_m_s", "turn_sd_rad_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0; got {getattr(self, name)}")
        if not 0 <= self.border_m < self.box_m / 2:
            raise ValueError(f"border_m must be in [0, box_m/2); got {self.border_m}")


@dataclass(frozen=True)
class Trajectories:
    """A batch of trajectories of T steps: `position[B, T+1, 2]` (m, index 0 = start), `heading[B, T+1]` (rad,
    in [0, 2π)), and per step t (from t to t+1): `speed[B, T]` (m/s, the drawn speed after the wall slowdown),
    `turn[B, T]` (rad, the heading change). The inputs are built from the realised displacement, so that they
    integrate exactly to the positions even on the rare step that the box clips."""

    position: np.ndarray
    heading: np.ndarray
    speed: np.ndarray
    turn: np.ndarray
    dt_s: float

    def egocentric_inputs(self) -> np.ndarray:
        """Banino's inputs [B, T, 3]: speed (m/s), sin and cos of the angular velocity (rad/s)."""
        omega = self.turn / self.dt_s
        speed = np.linalg.norm(np.diff(self.position, axis=1), axis=-1) / self.dt_s
        return np.stack([speed, np.sin(omega), np.cos(omega)], axis=-1)

    def velocity_inputs(self) -> np.ndarray:
        """Sorscher's inputs [B, T, 2]: the displacement per step (m) along x and y, speed·dt·(cos, sin) heading."""
        return np.diff(self.position, axis=1)


def avoid_walls(position: np.ndarray, heading: np.ndarray, box_m: float,
                border_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Which animals are near a wall heading into it, and the turn that makes them run parallel to it.

    position [B, 2], heading [B] → (near [B] bool, turn [B] rad). The nearest wall is the one at the smallest
    distance; its outward normal has angle θ ∈ {0, π/2, π, 3π/2}; a = heading − θ wrapped to (−π, π]; near
    when the distance is below `border_m` and |a| < π/2; the turn sign(a)(π/2 − |a|) brings |a| to π/2.
    """
    x, y = position[:, 0], position[:, 1]
    half = box_m / 2
    distances = np.stack([half - x, half - y, half + x, half + y])  # to the walls with normals 0, π/2, π, 3π/2
    nearest = distances.argmin(axis=0)
    normal = nearest * (np.pi / 2)
    a = np.mod(heading - normal + np.pi, 2 * np.pi) - np.pi
    near = (distances.min(axis=0) < border_m) & (np.abs(a) < np.pi / 2)
    turn = np.where(near, np.sign(a) * (np.pi / 2 - np.abs(a)), 0.0)
    return near, turn


def simulate(batch: int, steps: int, params: MotionParams, rng: np.random.Generator,
             start: np.ndarray | None = None) -> Trajectories:
    """`batch` trajectories of `steps` steps from uniform random starts (or `start` [B, 2]) and headings.

    Step t: speed v_t ~ Rayleigh(b), a quarter of it when `avoid_walls` says near; heading change =
    wall turn + dt·N(0, σ²); position_{t+1} = position_t + v_t dt (cos h_t, sin h_t). The result is clipped
    to the box (a step from inside the border region towards a wall cannot leave it unless a speed draw
    exceeds border/dt/slowdown, which the clip absorbs).
    """
    if batch < 1 or steps < 1:
        raise ValueError(f"batch and steps must be >= 1; got {batch}, {steps}")
    half = params.box_m / 2
    position = np.empty((batch, steps + 1, 2))
    heading = np.empty((batch, steps + 1))
    position[:, 0] = rng.uniform(-half, half, (batch, 2)) if start is None else start
    heading[:, 0] = rng.uniform(0, 2 * np.pi, batch)
    speed = rng.rayleigh(params.speed_scale_m_s, (batch, steps))
    random_turn = rng.normal(0.0, params.turn_sd_rad_s, (batch, steps)) * params.dt_s
    turn = np.empty((batch, steps))
    for t in range(steps):
        near, wall_turn = avoid_walls(position[:, t], heading[:, t], params.box_m, params.border_m)
        speed[near, t] *= params.wall_slowdown
        turn[:, t] = wall_turn + random_turn[:, t]
        step = speed[:, t, None] * params.dt_s * np.stack([np.cos(heading[:, t]), np.sin(heading[:, t])], -1)
        position[:, t + 1] = np.clip(position[:, t] + step, -half, half)
        heading[:, t + 1] = np.mod(heading[:, t] + turn[:, t], 2 * np.pi)
    return Trajectories(position, heading, speed, turn, params.dt_s)
