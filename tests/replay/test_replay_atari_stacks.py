"""Rebuilt stacks equal the Atari env's own stacked observations, bit for bit.

A real Atari vector env (`envs.atari.AtariEnv`, else ale-py's `AtariVectorEnv` with the same options;
3 envs, Breakout, random actions, a 720-frame cap so that episodes end both by game over and by
truncation) is played the way the trainer plays it; every observation is recorded. The buffer (40
rows per env, so it wraps ~12 times) is fed step by step and, every few steps, EVERY valid row is
gathered and compared with the record: obs_t, next obs_{t+m}, action, n-step return and discount.
The set of valid rows is compared with a slow reference too."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from replay_reference import (
    Record,
    add_step,
    buffer_valid,
    check_rows,
    reference_transition,
    reference_valid,
    run_env,
)

from replay import ReplayBuffer

ale_vector_env = pytest.importorskip("ale_py.vector_env")

NUM_ENVS, STACK, NUM_STEPS, ROWS_PER_ENV = 3, 4, 480, 40
GAMMA, CLIP = 0.9, 1.0


def make_env():
    """The project's `envs.atari.AtariEnv` when it imports and builds; else ale-py directly with the
    same pinned options (envs/ is written concurrently with replay/)."""
    try:
        from envs.atari import AtariEnv

        env = AtariEnv("breakout", NUM_ENVS, sticky_action_prob=0.0, noop_max=30, full_action_space=False,
                       max_episode_frames=720, frame_skip=4, stack=STACK, num_threads=1)
        return env, env.reset(seed=123), env.num_actions
    except (ImportError, AttributeError, TypeError):
        env = ale_vector_env.AtariVectorEnv(
            game="breakout", num_envs=NUM_ENVS, num_threads=1, max_num_frames_per_episode=720,
            repeat_action_probability=0.0, full_action_space=False, noop_max=30, frameskip=4,
            stack_num=STACK, maxpool=True, episodic_life=False, reward_clipping=False,
            use_fire_reset=False, autoreset_mode="NextStep",
        )
        return env, env.reset(seed=123)[0], int(env.single_action_space.n)


@pytest.fixture(scope="module")
def atari_record() -> Record:
    env, obs, num_actions = make_env()
    try:
        return run_env(env, NUM_STEPS, num_actions, seed=0, reset_obs=obs)
    finally:
        env.close()


def test_record_has_what_the_test_needs(atari_record: Record) -> None:
    """Both kinds of episode end occur, and `first` marks exactly the zero-padded reset stacks."""
    term = np.array(atari_record.terminated)
    trunc = np.array(atari_record.truncated)
    assert term.sum() >= 2 and trunc.sum() >= 2, (term.sum(), trunc.sum())
    assert any(np.any(r != 0) for r in atari_record.reward)
    for obs, first in zip(atari_record.obs, atari_record.first, strict=True):
        for e in np.nonzero(first)[0]:
            assert not obs[e, :-1].any() and obs[e, -1].any()
    assert np.array(atari_record.first)[1:].sum() == term[:-2].sum() + trunc[:-2].sum()


@pytest.mark.parametrize("n_step", [1, 3])
def test_every_valid_row_matches_env_observations(atari_record: Record, n_step: int) -> None:
    buf = ReplayBuffer(ROWS_PER_ENV * NUM_ENVS, NUM_ENVS, (84, 84), np.uint8, STACK, n_step, GAMMA, CLIP,
                       batch_size=32, device="cpu", seed=7)
    checked = sampled = 0
    for t in range(len(atari_record) - n_step):  # keep t+n inside the record for the reference
        add_step(buf, atari_record, t)
        if t % 5 == 4:
            expected = reference_valid(atari_record, t + 1, ROWS_PER_ENV, STACK, n_step)
            assert buffer_valid(buf) == expected, f"valid set differs after {t + 1} adds"
            valid_index = torch.nonzero(buf.valid_mask().reshape(-1)).reshape(-1)
            checked += check_rows(buf, atari_record, valid_index, GAMMA, CLIP)
        if t > 2 * ROWS_PER_ENV and t % 17 == 0:
            batch = buf.sample()
            valid = reference_valid(atari_record, t + 1, ROWS_PER_ENV, STACK, n_step)
            for i, flat in enumerate(batch.index.tolist()):
                slot, e = divmod(flat, NUM_ENVS)
                row = t - ((t - slot) % ROWS_PER_ENV)
                assert (row, e) in valid
                obs, _, _, _, next_obs = reference_transition(atari_record, row, e, n_step, GAMMA, CLIP)
                assert torch.equal(batch.obs[i], torch.from_numpy(obs))
                assert torch.equal(batch.next_obs[i], torch.from_numpy(next_obs))
                sampled += 1
    assert buf.steps_added > 5 * ROWS_PER_ENV  # wrapped several times
    assert checked > 3000 and sampled > 300
