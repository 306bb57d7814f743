"""Uniform replay on a fake vector env with short episodes: validity, contents, uniformity, resume."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from replay_reference import (
    FakeVectorEnv,
    Record,
    absolute_row,
    add_step,
    buffer_valid,
    check_rows,
    chi_square,
    chi_square_threshold,
    reference_valid,
    run_env,
)

from replay import PrioritizedReplayBuffer, ReplayBuffer, ReplayConfig, build_replay

GAMMA, CLIP = 0.9, 1.0


def fake_record(num_envs: int, stack: int, steps: int, seed: int = 0, max_len: int = 12) -> Record:
    env = FakeVectorEnv(num_envs, stack, p_term=0.08, p_trunc=0.05, max_len=max_len, seed=seed)
    return run_env(env, steps, num_actions=5, seed=seed, reset_obs=env.reset())


def make_buffer(rows_per_env: int, num_envs: int, stack: int, n: int, batch_size: int = 16,
                seed: int = 0, device: str = "cpu", **per) -> ReplayBuffer:
    cls = PrioritizedReplayBuffer if per else ReplayBuffer
    return cls(rows_per_env * num_envs, num_envs, (2,), torch.int32, stack, n, GAMMA, CLIP, batch_size,
               device, seed, **per)


NO_CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")


@pytest.mark.parametrize(("num_envs", "stack", "n", "rows_per_env", "device"),
                         [(1, 4, 1, 9, "cpu"), (3, 4, 3, 23, "cpu"), (4, 1, 1, 7, "cpu"), (2, 2, 5, 16, "cpu"),
                          (5, 4, 3, 200, "cpu"), pytest.param(3, 4, 3, 23, "cuda", marks=NO_CUDA)])
def test_valid_rows_and_contents_match_reference(num_envs, stack, n, rows_per_env, device) -> None:
    """Across terminations, truncations and wrap-around: the valid set is exactly the reference
    rule, and every valid row gathers the right stacks, action, n-step return and discount."""
    rec = fake_record(num_envs, stack, steps=260)
    buf = make_buffer(rows_per_env, num_envs, stack, n, device=device)
    for t in range(len(rec) - n):
        add_step(buf, rec, t)
        assert len(buf) == min(t + 1, rows_per_env) * num_envs
        if t % 3 == 0 or t >= len(rec) - 2 * n - 2:
            assert buffer_valid(buf) == reference_valid(rec, t + 1, rows_per_env, stack, n), t
            assert buf.num_valid() == len(buffer_valid(buf))
            check_rows(buf, rec, torch.nonzero(buf.valid_mask().reshape(-1)).reshape(-1), GAMMA, CLIP)


def test_torch_and_numpy_inputs_give_the_same_buffer() -> None:
    """`add` takes numpy or torch inputs; the validity rule (computed on host mirrors) is the same."""
    rec = fake_record(num_envs=2, stack=4, steps=80)
    from_numpy, from_torch = make_buffer(20, 2, 4, n=3), make_buffer(20, 2, 4, n=3)
    for t in range(len(rec) - 3):
        add_step(from_numpy, rec, t)
        from_torch.add(*(torch.as_tensor(np.asarray(x)) for x in (rec.obs[t][:, -1], rec.first[t], rec.action[t],
                                                                  rec.reward[t], rec.terminated[t], rec.truncated[t])))
        assert torch.equal(from_numpy.valid_mask(), from_torch.valid_mask()), t
    assert from_numpy.num_valid() == from_torch.num_valid() == int(from_numpy.valid_mask().sum()) > 0


def test_final_obs_rows_and_autoreset_steps_are_never_sampled() -> None:
    """Sampled starts are never a final observation (whose 'transition' is the autoreset step), and
    no n-step window runs through an autoreset."""
    rec = fake_record(num_envs=4, stack=4, steps=300, max_len=6)
    buf = make_buffer(50, 4, 4, n=3, batch_size=64)
    final_rows = 0
    for t in range(len(rec) - 3):
        add_step(buf, rec, t)
        if t < 20:
            continue
        batch = buf.sample()
        for flat in batch.index.tolist():
            row, e = absolute_row(buf, flat // 4), flat % 4
            if row >= 1:
                assert not (rec.terminated[row - 1][e] or rec.truncated[row - 1][e]), "final obs sampled"
            ends = [rec.terminated[row + k][e] or rec.truncated[row + k][e] for k in range(3)]
            m = ends.index(True) + 1 if any(ends) else 3
            assert not any(rec.first[row + k][e] for k in range(1, m + 1)), "window crosses a reset"
        newest = buf.steps_added - 1
        final_rows += sum(bool(rec.terminated[row][e] or rec.truncated[row][e])
                          for row in range(max(0, newest - 49), newest) for e in range(4))
    assert final_rows > 1000  # there were plenty of final-obs rows to (wrongly) pick


def test_sampling_is_uniform_over_valid_rows() -> None:
    rec = fake_record(num_envs=3, stack=4, steps=140, max_len=8)
    buf = make_buffer(40, 3, 4, n=3, batch_size=64, seed=3)
    for t in range(len(rec) - 3):
        add_step(buf, rec, t)
    valid = buf.valid_mask().reshape(-1).clone()
    num_valid = int(valid.sum())
    assert 60 < num_valid < valid.numel() - 15  # plenty of invalid rows to avoid
    counts = torch.zeros(valid.numel())
    draws = 0
    while draws < 300 * num_valid:
        counts += torch.bincount(buf.sample().index, minlength=valid.numel())
        draws += 64
    assert counts[~valid].sum() == 0
    expected = np.full(num_valid, draws / num_valid)
    assert chi_square(counts[valid].numpy(), expected) < chi_square_threshold(num_valid - 1)


def test_cpu_draws_are_rejection_with_the_buffer_generator() -> None:
    """On a CPU buffer the host-side rejection draws exactly what rejection on the device tensor with the
    buffer's seeded generator draws (B draws; while any is invalid, B fresh draws replace the invalid
    ones), so CPU runs keep the stream they had before sampling moved to the host mirror."""
    rec = fake_record(num_envs=3, stack=4, steps=140, max_len=8)
    buf = make_buffer(40, 3, 4, n=3, batch_size=64, seed=5)
    for t in range(len(rec) - 3):
        add_step(buf, rec, t)
    valid = buf.valid_mask().reshape(-1)
    written = valid.numel()
    generator = torch.Generator().manual_seed(5)
    rounds = 0
    for _ in range(50):
        expected = torch.randint(written, (64,), generator=generator)
        while not valid[expected].all():
            rounds += 1
            expected = torch.where(valid[expected], expected, torch.randint(written, (64,), generator=generator))
        assert torch.equal(buf.sample().index, expected)
    assert rounds > 20  # the redraw rounds were exercised


def test_sampling_an_empty_buffer_fails_with_a_message() -> None:
    buf = make_buffer(30, 2, 4, n=3)
    with pytest.raises(RuntimeError, match="no valid rows to sample"):
        buf.sample()


def test_batch_is_preallocated_and_reused() -> None:
    rec = fake_record(num_envs=2, stack=4, steps=60)
    buf = make_buffer(30, 2, 4, n=3)
    for t in range(len(rec) - 3):
        add_step(buf, rec, t)
    first = buf.sample()
    pointers = {name: getattr(first, name).data_ptr() for name in first.__dataclass_fields__}
    second = buf.sample()
    assert second is first
    assert {name: getattr(second, name).data_ptr() for name in pointers} == pointers
    assert first.obs.shape == (16, 4, 2) and first.action.dtype == torch.int64
    assert first.weight.eq(1).all()


@pytest.mark.parametrize("prioritized", [False, True])
def test_state_dict_round_trip_resumes_identically(prioritized: bool) -> None:
    """A buffer restored from a saved state samples the same batches, and keeps doing so after both
    copies receive the same further steps (storage, write head, validity, RNG all restored)."""
    per = {"alpha": 0.6, "beta": 0.4, "priority_eps": 1e-6} if prioritized else {}
    rec = fake_record(num_envs=3, stack=4, steps=140)
    original = make_buffer(30, 3, 4, n=3, seed=11, **per)
    for t in range(100):
        add_step(original, rec, t)
        if prioritized and t > 20:
            batch = original.sample()
            original.update_priorities(batch.index, torch.rand(16, generator=torch.Generator().manual_seed(t)))
            original.set_beta(0.4 + 0.006 * t)
    stream = io.BytesIO()
    torch.save(original.state_dict(), stream)
    stream.seek(0)
    restored = make_buffer(30, 3, 4, n=3, seed=999, **per)
    restored.load_state_dict(torch.load(stream))

    def fields(batch):
        return [getattr(batch, name).clone() for name in batch.__dataclass_fields__]

    for t in range(100, 130):
        for buf in (original, restored):
            add_step(buf, rec, t)
        assert torch.equal(original.valid_mask(), restored.valid_mask())  # the host mirrors came back too
        assert original.num_valid() == restored.num_valid()
        a, b = fields(original.sample()), fields(restored.sample())
        for x, y in zip(a, b, strict=True):
            assert torch.equal(x, y)
        if prioritized:
            for buf in (original, restored):
                buf.update_priorities(a[-1], a[2].abs())
    if prioritized:
        assert original.beta == restored.beta
        for x, y in zip(original.tree.levels, restored.tree.levels, strict=True):
            assert torch.equal(x, y)
    with pytest.raises(ValueError, match="structure"):
        make_buffer(31, 3, 4, n=3, **per).load_state_dict(original.state_dict())


def test_a_state_saved_before_host_sampling_resumes_the_same_cpu_stream() -> None:
    """Checkpoints written before uniform draws moved to the host have no "host_rng_state"; on a CPU
    buffer "rng_state" is that generator's state, so such a run still resumes exactly."""
    rec = fake_record(num_envs=2, stack=4, steps=80)
    original = make_buffer(30, 2, 4, n=3, seed=7)
    for t in range(60):
        add_step(original, rec, t)
        if t > 20:
            original.sample()
    state = original.state_dict()
    del state["host_rng_state"]
    restored = make_buffer(30, 2, 4, n=3, seed=999)
    restored.load_state_dict(state)
    for _ in range(5):
        assert torch.equal(original.sample().index, restored.sample().index)


def test_build_replay_dispatches_and_rejects_unknown_kinds() -> None:
    kwargs = {"num_envs": 2, "frame_shape": (84, 84), "frame_dtype": np.uint8, "stack": 4, "n_step": 3,
              "gamma": 0.99, "reward_clip": 1.0, "batch_size": 32, "device": "cpu", "seed": 0}
    uniform = build_replay(ReplayConfig(kind="uniform", capacity=1000), **kwargs)
    assert type(uniform) is ReplayBuffer and uniform.capacity_per_env == 500
    assert uniform.storage_tensors()["frames"].dtype == torch.uint8
    per = build_replay(ReplayConfig(kind="prioritized", capacity=1000, alpha=0.7), **kwargs)
    assert isinstance(per, PrioritizedReplayBuffer) and per.alpha == 0.7
    with pytest.raises(ValueError, match="unknown replay kind 'rank'; valid: uniform, prioritized"):
        build_replay(ReplayConfig(kind="rank"), **kwargs)
    with pytest.raises(ValueError, match="n_step \\+ stack"):
        build_replay(ReplayConfig(capacity=12), **kwargs)


def test_memory_is_one_frame_per_transition() -> None:
    """Bytes per stored transition: one 84x84 uint8 frame plus 9 bytes of scalars and 3 of host
    mirrors (so 1M transitions take 7.068 GB < 7.2 GB); no stacks, no next observations."""
    buf = ReplayBuffer(10_000, 8, (84, 84), np.uint8, 4, 3, 0.99, 1.0, 32, "cpu", 0)
    per_row = (buf.nbytes() - 84 * 84) / 10_000  # minus the shared zero frame
    # frame, first, action, reward, term, trunc, valid; host: first, ended, valid
    assert per_row == 84 * 84 + 1 + 2 + 4 + 1 + 1 + 1 + 3
    assert per_row * 1_000_000 <= 7.2e9
