"""Slow, per-item references and a fake vector env shared by the replay tests.

Everything here is written as plainly as possible (Python loops over items) so that the vectorized
buffer can be checked against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from replay.buffer import ReplayBuffer


class FakeVectorEnv:
    """NEXT_STEP-autoreset vector env with ale-py's stacking: reset stack [0, .., 0, f].

    Every frame is unique ([counter, env], counter >= 1), so any mix-up of rows, envs or padding
    shows. Episodes end by termination (prob p_term per step) or truncation (prob p_trunc, or at
    max_len steps); the step after an end returns the reset stack with reward 0 and no flags.
    """

    def __init__(self, num_envs: int, stack: int, p_term: float, p_trunc: float, max_len: int,
                 seed: int) -> None:
        self.num_envs, self.stack = num_envs, stack
        self.p_term, self.p_trunc, self.max_len = p_term, p_trunc, max_len
        self.rng = np.random.default_rng(seed)
        self.counter = 0
        self.obs = np.zeros((num_envs, stack, 2), np.int32)
        self.ended = np.zeros(num_envs, bool)
        self.length = np.zeros(num_envs, int)

    def _frame(self, env: int) -> np.ndarray:
        self.counter += 1
        return np.array([self.counter, env], np.int32)

    def reset(self) -> np.ndarray:
        for e in range(self.num_envs):
            self.obs[e] = 0
            self.obs[e, -1] = self._frame(e)
            self.length[e] = 0
        self.ended[:] = False
        return self.obs.copy()

    def step(self, action: np.ndarray):
        E = self.num_envs
        reward = np.zeros(E, np.float32)
        term, trunc = np.zeros(E, bool), np.zeros(E, bool)
        for e in range(E):
            if self.ended[e]:  # autoreset step: action ignored
                self.obs[e] = 0
                self.obs[e, -1] = self._frame(e)
                self.length[e] = 0
                self.ended[e] = False
                continue
            self.obs[e, :-1] = self.obs[e, 1:].copy()
            self.obs[e, -1] = self._frame(e)
            self.length[e] += 1
            reward[e] = self.rng.choice([-3.0, -1.0, 0.0, 0.5, 1.0, 2.0])
            u = self.rng.random()
            term[e] = u < self.p_term
            trunc[e] = (not term[e]) and (u < self.p_term + self.p_trunc or self.length[e] >= self.max_len)
            self.ended[e] = term[e] or trunc[e]
        return self.obs.copy(), reward, term, trunc


@dataclass
class Record:
    """Everything the trainer saw, one entry per vector step T (obs_T and the outcome of a_T)."""

    obs: list[np.ndarray] = field(default_factory=list)  # [E, S, *frame]
    first: list[np.ndarray] = field(default_factory=list)
    action: list[np.ndarray] = field(default_factory=list)
    reward: list[np.ndarray] = field(default_factory=list)
    terminated: list[np.ndarray] = field(default_factory=list)
    truncated: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.obs)


def run_env(env, num_steps: int, num_actions: int, seed: int, reset_obs: np.ndarray,
            on_step=None) -> Record:
    """Play random actions the way the trainer does and record every (obs_t, first_t, a_t, outcome).

    `env.step` returns a gymnasium tuple or an `envs.base.VecStep`. `first` of the obs returned by
    step t is the end flag of step t-1 (that step's obs was final, so step t was the autoreset); a
    VecStep's own `first` must agree. `on_step(record)` is called after each step is recorded.
    """
    rng = np.random.default_rng(seed)
    rec = Record()
    obs = reset_obs
    E = obs.shape[0]
    first = np.ones(E, bool)
    prev_end = np.zeros(E, bool)
    for _ in range(num_steps):
        a = rng.integers(0, num_actions, E)
        out = env.step(a)
        if hasattr(out, "first"):  # envs.base.VecStep
            next_obs, reward, term, trunc = out.obs, out.reward, out.terminated, out.truncated
            assert np.array_equal(out.first, prev_end), "VecStep.first != end flag of the previous step"
        else:
            next_obs, reward, term, trunc = out[0], out[1], out[2], out[3]
        rec.obs.append(obs.copy())
        rec.first.append(first.copy())
        rec.action.append(a.copy())
        rec.reward.append(np.asarray(reward, np.float32).copy())
        rec.terminated.append(np.asarray(term, bool).copy())
        rec.truncated.append(np.asarray(trunc, bool).copy())
        if on_step is not None:
            on_step(rec)
        first = prev_end.copy()
        prev_end = np.asarray(term, bool) | np.asarray(trunc, bool)
        obs = next_obs
    return rec


def add_step(buf: ReplayBuffer, rec: Record, t: int) -> None:
    """Feed step t of the record exactly as the trainer does."""
    buf.add(rec.obs[t][:, -1], rec.first[t], rec.action[t], rec.reward[t], rec.terminated[t],
            rec.truncated[t])


def reference_valid(rec: Record, num_added: int, capacity_per_env: int, stack: int, n: int) -> set:
    """{(T, env)} of valid transition starts after `num_added` adds, by the rule in replay/buffer.py."""
    newest = num_added - 1
    oldest = max(0, num_added - capacity_per_env)
    out = set()
    for e in range(rec.obs[0].shape[0]):
        for t in range(oldest, newest + 1):
            ok = True
            for k in range(n):  # rows t+1 .. t+m must exist and not be an episode start
                if t + k + 1 > newest or rec.first[t + k + 1][e]:
                    ok = False
                    break
                if rec.terminated[t + k][e] or rec.truncated[t + k][e]:
                    break
            for j in range(t, t - stack, -1):  # walk back over obs_T's stack rows while needed
                if not ok:
                    break
                if j < oldest:  # needed, but overwritten or never written
                    ok = False
                elif rec.first[j][e]:  # rows before an episode start are zero padding
                    break
            if ok:
                out.add((t, e))
    return out


def reference_transition(rec: Record, t: int, e: int, n: int, gamma: float, clip: float | None):
    """(obs, action, n-step return, discount, next_obs) of start (T, e), one step at a time."""
    ret, m, discount = 0.0, 0, 1.0
    for k in range(n):
        r = float(rec.reward[t + k][e])
        if clip is not None:
            r = min(max(r, -clip), clip)
        ret += gamma**k * r
        m = k + 1
        if rec.terminated[t + k][e]:
            discount = 0.0
            break
        if rec.truncated[t + k][e]:
            discount = gamma**m
            break
    else:
        discount = gamma**n
    return rec.obs[t][e], int(rec.action[t][e]), ret, discount, rec.obs[t + m][e]


def absolute_row(buf: ReplayBuffer, slot: int) -> int:
    """Absolute vector step T held by `slot` (the most recent T <= newest with T % C == slot)."""
    newest, C = buf.steps_added - 1, buf.capacity_per_env
    return newest - ((newest - slot) % C)


def buffer_valid(buf: ReplayBuffer) -> set:
    """{(T, env)} the buffer marks valid."""
    E = buf.num_envs
    return {(absolute_row(buf, int(i) // E), int(i) % E)
            for i in torch.nonzero(buf.valid_mask().reshape(-1)).reshape(-1).tolist()}


def check_rows(buf: ReplayBuffer, rec: Record, index: torch.Tensor, gamma: float,
               clip: float | None) -> int:
    """Gather `index` (any length; chunked to batch_size) and compare every field with the record."""
    B, E = buf.batch_size, buf.num_envs
    checked = 0
    for start in range(0, len(index), B):
        chunk = index[start : start + B]
        padded = torch.cat([chunk, chunk[:1].expand(B - len(chunk))]).to(buf.device)
        batch = buf.gather(padded)
        for i, flat in enumerate(chunk.tolist()):
            t, e = absolute_row(buf, flat // E), flat % E
            obs, action, ret, discount, next_obs = reference_transition(rec, t, e, buf.n_step, gamma, clip)
            assert np.array_equal(batch.obs[i].cpu().numpy(), obs), f"obs of t={t} env={e}"
            assert np.array_equal(batch.next_obs[i].cpu().numpy(), next_obs), f"next_obs of t={t} env={e}"
            assert int(batch.action[i]) == action
            assert math.isclose(float(batch.reward[i]), ret, rel_tol=1e-5, abs_tol=1e-5), (t, e)
            assert math.isclose(float(batch.discount[i]), discount, rel_tol=1e-5, abs_tol=1e-6), (t, e)
            checked += 1
    return checked


def chi_square_threshold(dof: int, z: float = 4.75) -> float:
    """Upper chi-square quantile (Wilson-Hilferty); z = 4.75 is a ~1e-6 false-alarm rate."""
    return dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3


def chi_square(counts: np.ndarray, expected: np.ndarray) -> float:
    """Pearson's statistic."""
    return float(((counts - expected) ** 2 / expected).sum())
