"""The device-resident replay buffer: one frame per env per step, stacks rebuilt at sample time.

Storage (all on `device`), indexed [time slot, env], capacity_per_env C = capacity // num_envs:

    frames     [C, E, *frame_shape]  frame dtype   newest frame of obs_t (never stacks, never next obs)
    first      [C, E] bool                         obs_t starts an episode (a reset stack)
    action     [C, E] int16                        a_t (cast to int64 when sampled)
    reward     [C, E] float32                      RAW r_{t+1} (clipped only inside `nstep_return`)
    terminated [C, E] bool, truncated [C, E] bool  flags of obs_{t+1}
    valid      [C, E] bool                         row t is a transition start that may be sampled

A row is one env's agent step; a flat slot id (`Batch.index`) is `slot * E + env`. Rows are written a
whole vector step at a time at slot `t % C` (t = vector steps added so far), overwriting the oldest.

Stacks. obs_t is rebuilt from rows t-S+1 .. t; a row before the last `first` row of that window is
replaced by zeros, exactly like the env's reset stack [0, 0, 0, f] and the stacks after it (those
positions read one extra all-zero frame kept after the storage, so one index_select fills obs and
next_obs together).

Validity rule (the one definition, `_validity`). Row t (of env e) is a valid transition start iff
  1. row t is retained (written, not overwritten);
  2. with m = steps of the n-step window (stop at the first row t+k, k < n, whose terminated or
     truncated flag is set; otherwise m = n), rows t+1 .. t+m are all written and none is `first`.
     This excludes the final-obs rows (the row after an episode end is followed by a `first` row,
     the autoreset step, which is not a transition) and rows whose window is not complete yet
     (the newest <= n rows of each env, unless their episode ended);
  3. every stack row that obs_t needs (rows t-S+1 .. t that are not before the last `first`) is
     retained. After wrap-around this drops up to S-1 of the oldest rows of each env, only when
     their episode started before the oldest retained row.
Rows t+m (next obs) need no extra condition: its stack rows lie in t-S+1 .. t+m, covered above.
Validity is recomputed on every add for exactly the rows whose rule can change: rows t-n .. t (the
window that just got longer) and the S-1 rows after the overwritten one (their stacks may have lost
a row); it needs capacity_per_env >= n_step + stack. The rule reads only the flags, which arrive from
the env on the host, so it runs on host mirrors of `first`, ended (terminated | truncated) and `valid`
(numpy, 3 bytes a transition) and the count of valid rows is a host int: an add is a handful of small
device copies instead of ~30 device ops (kernel launches on a GPU), and `can_sample()` never syncs.

Sampling draws (time, env) uniformly over valid rows by vectorized rejection on the host mirror of
`valid`: B uniform draws over the written rows, invalid ones redrawn together until all are valid
(exactly uniform, typically one round), from the buffer's own generator (a CPU one of its own on a
GPU). The B indices then go to the device in one copy, from pinned memory and without blocking on a
GPU, so sampling never waits for the updates already queued there (a device-side rejection test
would sync once per round). The prioritized subclass draws on the device instead (its sum tree lives
there), also without a sync. Everything is written into tensors preallocated at construction: the
returned `Batch` is the same object every call, and its tensors are OVERWRITTEN by the next
`sample()` / `gather()`; clone what must outlive that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from replay.nstep import nstep_return

_STATE_VERSION = 1


@dataclass(frozen=True)
class Batch:
    """A sampled batch of n-step transitions; tensors are owned by the buffer (see module doc)."""

    obs: Tensor  # [B, S, *frame_shape], frame dtype
    action: Tensor  # [B] int64
    reward: Tensor  # [B] float32: n-step sum of per-step CLIPPED rewards, sum_k gamma^k r_{t+k+1}
    discount: Tensor  # [B] float32: gamma**k * (1 - terminated) (k = steps taken, <= n)
    next_obs: Tensor  # [B, S, *frame_shape]
    weight: Tensor  # [B] float32 importance weights (ones for uniform)
    index: Tensor  # [B] int64 buffer slot ids (slot * num_envs + env), for update_priorities


def _host(flags) -> np.ndarray:  # noqa: ANN001 (a numpy array or a torch tensor)
    """[E] bool flags as a numpy array on the host (a device tensor is copied back)."""
    if isinstance(flags, Tensor):
        return flags.detach().cpu().numpy().astype(bool, copy=False)
    return np.asarray(flags, dtype=bool)


def as_torch_dtype(dtype: torch.dtype | np.dtype | type | str) -> torch.dtype:
    """A torch dtype from a torch dtype, numpy dtype (np.uint8, np.dtype("float32")) or its name."""
    if isinstance(dtype, torch.dtype):
        return dtype
    return torch.from_numpy(np.zeros(0, dtype=np.dtype(dtype))).dtype


class ReplayBuffer:
    """Uniform n-step replay over E parallel envs, stored one frame per row on `device`.

    Args:
        capacity: transitions over all envs; each env keeps capacity // num_envs rows.
        num_envs: E, envs written per `add`.
        frame_shape: shape of one frame ((84, 84) Atari, (4,) CartPole).
        frame_dtype: dtype of frames (uint8 Atari); torch or numpy dtype.
        stack: S, frames per observation (4 Atari, 1 classic control).
        n_step: n of the n-step return.
        gamma: discount per agent step.
        reward_clip: per-step reward clip at sample time; None: raw rewards.
        batch_size: B of every `sample()`.
        device: where storage and batches live.
        seed: seed of the buffer's own sampling generator (saved in `state_dict`).
    """

    def __init__(
        self,
        capacity: int,
        num_envs: int,
        frame_shape: tuple[int, ...],
        frame_dtype: torch.dtype | np.dtype | type,
        stack: int,
        n_step: int,
        gamma: float,
        reward_clip: float | None,
        batch_size: int,
        device: torch.device | str,
        seed: int,
    ) -> None:
        rows_per_env = capacity // num_envs if num_envs >= 1 else 0
        if num_envs < 1 or stack < 1 or n_step < 1 or batch_size < 1:
            raise ValueError(f"need num_envs, stack, n_step, batch_size >= 1; got {num_envs}, {stack}, "
                             f"{n_step}, {batch_size}")
        if rows_per_env < n_step + stack:
            raise ValueError(f"capacity // num_envs = {rows_per_env} rows per env; need >= n_step + stack = "
                             f"{n_step + stack}")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        if reward_clip is not None and reward_clip <= 0:
            raise ValueError(f"reward_clip must be > 0 or None, got {reward_clip}")
        self.capacity_per_env = C = rows_per_env
        self.num_envs = E = num_envs
        self.frame_shape = tuple(int(d) for d in frame_shape)
        self.frame_dtype = as_torch_dtype(frame_dtype)
        self.stack = S = stack
        self.n_step = n = n_step
        self.gamma = float(gamma)
        self.reward_clip = None if reward_clip is None else float(reward_clip)
        self.device = dev = torch.device(device)
        self._steps_added = 0  # vector steps ever added; the next row is written at slot % C

        # One extra, always-zero frame after the C*E rows: padded stack positions read it.
        self._frames_flat = torch.zeros((C * E + 1, math.prod(self.frame_shape)), dtype=self.frame_dtype,
                                        device=dev)
        self._frames = self._frames_flat[: C * E].view(C, E, *self.frame_shape)
        self._zero_row = C * E
        self._first = torch.zeros((C, E), dtype=torch.bool, device=dev)
        self._action = torch.zeros((C, E), dtype=torch.int16, device=dev)
        self._reward = torch.zeros((C, E), dtype=torch.float32, device=dev)
        self._terminated = torch.zeros((C, E), dtype=torch.bool, device=dev)
        self._truncated = torch.zeros((C, E), dtype=torch.bool, device=dev)
        self._valid = torch.zeros((C, E), dtype=torch.bool, device=dev)
        # Host mirrors of what the validity rule reads and writes (see the module doc).
        self._first_host = np.zeros((C, E), dtype=bool)
        self._ended_host = np.zeros((C, E), dtype=bool)
        self._valid_host = np.zeros((C, E), dtype=bool)
        self._num_valid = 0
        # Flat views over [C * E] rows: the sample path indexes these with slot * E + env.
        self._first_flat = self._first.view(-1)
        self._action_flat = self._action.view(-1)
        self._reward_flat = self._reward.view(-1)
        self._terminated_flat = self._terminated.view(-1)
        self._truncated_flat = self._truncated.view(-1)
        self._valid_flat = self._valid.view(-1)

        self._generator = torch.Generator(device=dev)  # the prioritized subclass's draws
        self._generator.manual_seed(int(seed))
        # Uniform draws are made and checked on the host. On a CPU buffer they come from `_generator`
        # itself (the same stream as drawing on the device); a GPU buffer gets a CPU generator of its own.
        self._host_generator = self._generator if dev.type == "cpu" else torch.Generator()
        self._host_generator.manual_seed(int(seed))
        self._valid_host_flat = self._valid_host.reshape(-1)  # a view
        self._pin_index = dev.type == "cuda"

        long = {"dtype": torch.long, "device": dev}
        # Window of a start row t: rows t-S+1 .. t+n (positions 0 .. S+n-1; row t at position S-1).
        self._window_offsets = torch.arange(-(S - 1), n + 1, **long)
        self._window_offsets_host = np.arange(-(S - 1), n + 1)
        self._stack_positions = torch.arange(S, **long)
        # Rows whose validity can change when row N is written: N-n .. N and N-C+1 .. N-C+S-1.
        self._recheck_offsets = np.concatenate([np.arange(-n, 1), np.arange(-C + 1, -C + S)])
        self._env_ids = torch.arange(E, **long)

        self._allocate_outputs(batch_size)

    def _allocate_outputs(self, batch_size: int) -> None:
        """Preallocate the Batch and the scratch tensors of the sample path. obs and next_obs are the
        two halves of one tensor, filled by a single index_select."""
        B, S, dev = batch_size, self.stack, self.device
        long = {"dtype": torch.long, "device": dev}
        self.batch_size = B
        self._obs_pair = torch.zeros((2, B, S, *self.frame_shape), dtype=self.frame_dtype, device=dev)
        self._batch = Batch(
            obs=self._obs_pair[0],
            action=torch.zeros(B, **long),
            reward=torch.zeros(B, dtype=torch.float32, device=dev),
            discount=torch.zeros(B, dtype=torch.float32, device=dev),
            next_obs=self._obs_pair[1],
            weight=torch.ones(B, dtype=torch.float32, device=dev),
            index=torch.zeros(B, **long),
        )
        self._action_rows = torch.zeros(B, dtype=torch.int16, device=dev)
        # Host draws of uniform sampling: B draws, then up to B redraws (numpy views made once).
        self._host_draws = torch.zeros(2 * B, dtype=torch.long)
        self._host_draws_np = self._host_draws.numpy()
        self._frame_rows = torch.zeros(2 * B * S, **long)

    def set_batch_size(self, batch_size: int) -> None:
        """Change B of later `sample()` calls (reallocates the Batch: earlier Batches stay valid)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self._allocate_outputs(batch_size)

    # ------------------------------------------------------------------ writing
    def add(self, frames, first, action, reward, terminated, truncated) -> None:
        """Write one vector step (numpy or torch, leading dim E) at the write head.

        Args:
            frames: [E, *frame_shape] newest frame of obs_t (obs[:, -1]).
            first: [E] bool, obs_t is a reset stack (episode start).
            action: [E] int, a_t.
            reward: [E] float, RAW r_{t+1}.
            terminated: [E] bool, obs_{t+1} is terminal.
            truncated: [E] bool, obs_{t+1} ended by a time limit.
        """
        slot = self._steps_added % self.capacity_per_env
        first, terminated, truncated = _host(first), _host(terminated), _host(truncated)
        self._frames[slot].copy_(torch.as_tensor(frames))
        self._first[slot].copy_(torch.from_numpy(first))
        self._action[slot].copy_(torch.as_tensor(action))
        self._reward[slot].copy_(torch.as_tensor(reward))
        self._terminated[slot].copy_(torch.from_numpy(terminated))
        self._truncated[slot].copy_(torch.from_numpy(truncated))
        self._first_host[slot] = first
        self._ended_host[slot] = terminated | truncated
        newest = self._steps_added
        self._steps_added += 1
        rows = self._recheck_offsets + newest
        slots = rows % self.capacity_per_env
        new = self._validity(rows)
        old = self._valid_host[slots]
        self._valid_host[slots] = new
        self._num_valid += int(new.sum()) - int(old.sum())
        slots_device = torch.from_numpy(slots).to(self.device)
        new_device = torch.from_numpy(new).to(self.device)
        self._valid[slots_device] = new_device
        self._on_validity_change(slots_device, torch.from_numpy(old).to(self.device), new_device)

    def _validity(self, rows: np.ndarray) -> np.ndarray:
        """[K, E] bool: the validity rule (module doc) for absolute rows `rows` [K], all envs, on the
        host mirrors.

        Flags read from rows that are not retained are garbage but never decide the result: such a
        row is either needed (then the start is invalid anyway) or lies beyond an episode boundary.
        """
        S, n, C = self.stack, self.n_step, self.capacity_per_env
        newest = self._steps_added - 1
        oldest = max(0, self._steps_added - C)
        window = rows[:, None] + self._window_offsets_host  # [K, W] absolute rows, W = S + n
        retained = ((window >= oldest) & (window <= newest))[:, :, None]  # [K, W, 1]
        slots = window % C
        first = self._first_host[slots]  # [K, W, E]
        ended = self._ended_host[slots[:, S - 1 : S - 1 + n]].astype(np.int32)  # rows t..t+n-1
        # Step k (row t+k) is taken iff no end in rows t..t+k-1; then row t+k+1 is needed.
        taken = (ended.cumsum(1) - ended) == 0  # [K, n, E]
        after = slice(S, S + n)  # rows t+1 .. t+n
        forward_ok = (~taken | (retained[:, after] & ~first[:, after])).all(1)
        # Stack row i (row t-S+1+i) is needed iff no `first` in rows after it up to t.
        first_stack = first[:, :S].astype(np.int32)
        firsts_after = first_stack[:, ::-1].cumsum(1)[:, ::-1] - first_stack
        stack_ok = ((firsts_after > 0) | retained[:, :S]).all(1)
        return retained[:, S - 1] & forward_ok & stack_ok

    def _on_validity_change(self, slots: Tensor, old: Tensor, new: Tensor) -> None:
        """Hook for subclasses: rows `slots` [K] changed validity from `old` to `new` [K, E]."""

    # ------------------------------------------------------------------ sampling
    def can_sample(self) -> bool:
        """At least `batch_size` valid rows (a host count: no device sync)."""
        return self._num_valid >= self.batch_size

    def num_valid(self) -> int:
        """Number of valid transition starts (a host count: no device sync)."""
        return self._num_valid

    def valid_mask(self) -> Tensor:
        """[C, E] bool view of the validity of every row (read-only by convention)."""
        return self._valid

    def sample(self) -> Batch:
        """`batch_size` transitions uniform over valid rows, written into the preallocated Batch."""
        self._sample_index(self._batch.index)
        return self.gather(self._batch.index)

    def _sample_index(self, out: Tensor) -> None:
        """Uniform draws over valid flat slot ids into `out` [B]: rejection on the host mirror of
        `valid` (each round draws B and keeps the new draw where the old one is invalid), then one
        non-blocking copy to the device (see the module doc)."""
        if self._num_valid == 0:
            raise RuntimeError("no valid rows to sample; check can_sample() first")
        B = out.shape[0]
        written = min(self._steps_added, self.capacity_per_env) * self.num_envs
        draws, index = self._host_draws[:B], self._host_draws_np[:B]
        redraws, redraw_index = self._host_draws[B:], self._host_draws_np[B:]
        torch.randint(written, draws.shape, generator=self._host_generator, out=draws)
        ok = self._valid_host_flat[index]
        while not ok.all():
            torch.randint(written, redraws.shape, generator=self._host_generator, out=redraws)
            np.copyto(index, redraw_index, where=~ok)
            ok = self._valid_host_flat[index]
        if self._pin_index:  # a pinned copy: torch's host allocator keeps it until the device copy has run
            out.copy_(draws.pin_memory(), non_blocking=True)
        else:
            out.copy_(draws)

    def gather(self, index: Tensor) -> Batch:
        """The batch of the valid flat slot ids `index` [B] (all fields but `weight`), into the
        preallocated Batch. `sample()` calls this; tests use it to check chosen rows."""
        S, n, C, E = self.stack, self.n_step, self.capacity_per_env, self.num_envs
        batch = self._batch
        if index is not batch.index:
            batch.index.copy_(index)
        index = batch.index
        time = torch.div(index, E, rounding_mode="floor")
        env = index - time * E
        # Flat ids of the window rows t-S+1 .. t+n of each item: [B, S+n].
        window = (time[:, None] + self._window_offsets).remainder_(C).mul_(E).add_(env[:, None])
        forward = window[:, S - 1 : S - 1 + n]
        returns, discounts, steps = nstep_return(
            self._reward_flat[forward], self._terminated_flat[forward], self._truncated_flat[forward],
            self.gamma, self.reward_clip,
        )
        batch.reward.copy_(returns)
        batch.discount.copy_(discounts)
        torch.index_select(self._action_flat, 0, index, out=self._action_rows)
        batch.action.copy_(self._action_rows)
        # Window positions of obs_t (0..S-1) and obs_{t+m} (m..m+S-1), as [B, 2, S].
        positions = torch.stack([self._stack_positions.expand(index.shape[0], S),
                                 steps[:, None] + self._stack_positions], 1)
        rows = window.gather(1, positions.view(-1, 2 * S)).view(-1, 2, S)
        # Positions before the last `first` of a stack read the zero row: keep i iff i >= last first
        # (with S = 1 the last first is position 0 or none, so every position is kept).
        if S > 1:
            last_first = (self._first_flat[rows] * self._stack_positions).amax(-1, keepdim=True)  # [B, 2, 1]
            rows.masked_fill_(self._stack_positions < last_first, self._zero_row)
        self._frame_rows.copy_(rows.transpose(0, 1).reshape(-1))
        torch.index_select(self._frames_flat, 0, self._frame_rows,
                           out=self._obs_pair.view(self._frame_rows.shape[0], -1))
        return batch

    # ------------------------------------------------------------------ bookkeeping
    def __len__(self) -> int:
        """Rows stored over all envs (a few of them, e.g. final observations, are not transitions)."""
        return min(self._steps_added, self.capacity_per_env) * self.num_envs

    @property
    def steps_added(self) -> int:
        """Vector steps added since construction (absolute time of the next row)."""
        return self._steps_added

    def storage_tensors(self) -> dict[str, Tensor]:
        """Every tensor that grows with capacity (for memory accounting)."""
        return {"frames": self._frames_flat, "first": self._first, "action": self._action,
                "reward": self._reward, "terminated": self._terminated, "truncated": self._truncated,
                "valid": self._valid}

    def nbytes(self) -> int:
        """Bytes held by the storage tensors and the host mirrors of the flags (the preallocated batch
        is a few MB more at most)."""
        mirrors = self._first_host.nbytes + self._ended_host.nbytes + self._valid_host.nbytes
        return sum(t.numel() * t.element_size() for t in self.storage_tensors().values()) + mirrors

    def set_beta(self, beta: float) -> None:
        """Importance-sampling exponent hook (see PrioritizedReplayBuffer); uniform replay ignores it."""

    def update_priorities(self, index: Tensor, priorities: Tensor) -> None:
        """Priority hook (see PrioritizedReplayBuffer); uniform replay ignores priorities."""

    def _structure(self) -> dict:
        return {"kind": type(self).__name__, "capacity_per_env": self.capacity_per_env,
                "num_envs": self.num_envs, "frame_shape": self.frame_shape,
                "frame_dtype": str(self.frame_dtype), "stack": self.stack, "n_step": self.n_step}

    def state_dict(self) -> dict:
        """Everything needed to resume identically: storage, validity, write position, sampling RNG.

        Tensors are the live storage, not copies (like nn.Module.state_dict): save it before the next
        `add`. The whole storage is saved, written or not (torch.save would save a slice's whole
        storage anyway): a 1M-transition Atari buffer is ~7.1 GB on disk.
        """
        return {
            "version": _STATE_VERSION,
            "structure": self._structure(),
            "steps_added": self._steps_added,
            "frames": self._frames,
            "first": self._first,
            "action": self._action,
            "reward": self._reward,
            "terminated": self._terminated,
            "truncated": self._truncated,
            "valid": self._valid,
            "num_valid": torch.tensor(self._num_valid),
            "rng_state": self._generator.get_state(),
            "host_rng_state": self._host_generator.get_state(),  # = rng_state on a CPU buffer
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a buffer saved by `state_dict` into this one (same structure; any device)."""
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"replay state version {state.get('version')} != {_STATE_VERSION}")
        if state["structure"] != self._structure():
            raise ValueError(f"replay state structure {state['structure']} != {self._structure()}")
        for name in ("frames", "first", "action", "reward", "terminated", "truncated", "valid"):
            getattr(self, f"_{name}").copy_(state[name])
        self._num_valid = int(state["num_valid"])
        self._first_host[:] = self._first.cpu().numpy()
        self._ended_host[:] = (self._terminated | self._truncated).cpu().numpy()
        self._valid_host[:] = self._valid.cpu().numpy()
        self._steps_added = int(state["steps_added"])
        # Generator states are CPU byte tensors whatever the generator's device (a state loaded with
        # map_location="cuda" arrives on the GPU, which set_state rejects).
        self._generator.set_state(state["rng_state"].cpu())
        if "host_rng_state" in state:  # saved since uniform draws moved to the host (CPU: = rng_state)
            self._host_generator.set_state(state["host_rng_state"].cpu())
