"""Sum tree against numpy, prioritized sampling proportions, importance weights, priority life cycle."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from replay_reference import FakeVectorEnv, add_step, chi_square, chi_square_threshold, run_env

from replay import PrioritizedReplayBuffer, SumTree

ALPHA, EPS = 0.6, 1e-6


@pytest.mark.parametrize(("capacity", "branching"), [(1, 2), (7, 2), (1000, 4), (5000, 32), (1025, 32)])
def test_sum_tree_matches_numpy_cumsum_searchsorted(capacity: int, branching: int) -> None:
    rng = np.random.default_rng(capacity)
    tree = SumTree(capacity, branching=branching)
    values = rng.exponential(size=capacity) * (rng.random(capacity) < 0.7)  # ~30% zero leaves
    values[0] = max(values[0], 0.1)
    tree.update(torch.arange(capacity), torch.from_numpy(values))
    for _ in range(3):  # batched updates of random subsets (distinct ids), then re-check everything
        ids = rng.choice(capacity, size=max(1, capacity // 5), replace=False)
        values[ids] = rng.exponential(size=len(ids)) * (rng.random(len(ids)) < 0.8)
        tree.update(torch.from_numpy(ids), torch.from_numpy(values[ids]))
        values[0] = max(values[0], 0.1)
        tree.update(torch.tensor([0]), torch.tensor([values[0]]))
        np.testing.assert_allclose(tree.leaves.numpy(), values)
        csum = np.cumsum(values)
        assert np.isclose(tree.total().item(), csum[-1], rtol=1e-12)
        mass = rng.random(1000) * csum[-1]
        far = np.abs(mass[:, None] - csum[None, :]).min(1) > 1e-9 * csum[-1]  # skip fp ties
        found = tree.find(torch.from_numpy(mass)).numpy()
        np.testing.assert_array_equal(found[far], np.searchsorted(csum, mass[far], side="right"))
        # Exact boundaries, zero and just-below-total masses never land on a zero leaf.
        edge = np.concatenate([csum[:-1], [0.0, np.nextafter(csum[-1], 0), csum[-1]]])
        leaves = tree.find(torch.from_numpy(edge)).numpy()
        assert (values[leaves] > 0).all() and (leaves < capacity).all()


def test_sum_tree_never_returns_a_zero_leaf() -> None:
    """Masses on and next to every cumsum boundary (where rounding bites) land on positive leaves."""
    rng = np.random.default_rng(0)
    for trial in range(30):
        capacity = int(rng.integers(2, 3000))
        tree = SumTree(capacity, branching=int(rng.choice([2, 4, 32])))
        values = rng.exponential(size=capacity) * (rng.random(capacity) < 0.5)
        values[rng.integers(capacity)] = 1.0
        tree.update(torch.arange(capacity), torch.from_numpy(values))
        csum = np.cumsum(values)
        edge = np.concatenate([csum, np.nextafter(csum, 0), np.nextafter(csum, np.inf), [0.0]])
        leaves = tree.find(torch.from_numpy(edge)).numpy()
        assert (leaves < capacity).all() and (values[leaves] > 0).all(), trial


def per_buffer(seed: int = 0, batch_size: int = 64) -> tuple[PrioritizedReplayBuffer, FakeVectorEnv]:
    env = FakeVectorEnv(3, 4, p_term=0.08, p_trunc=0.05, max_len=10, seed=seed)
    rec = run_env(env, 140, num_actions=4, seed=seed, reset_obs=env.reset())
    buf = PrioritizedReplayBuffer(40 * 3, 3, (2,), torch.int32, 4, 3, 0.9, 1.0, batch_size, "cpu", seed,
                                  alpha=ALPHA, beta=0.4,
                                  priority_eps=EPS)
    for t in range(len(rec) - 3):
        add_step(buf, rec, t)
    return buf, rec


def valid_ids(buf: PrioritizedReplayBuffer) -> torch.Tensor:
    return torch.nonzero(buf.valid_mask().reshape(-1)).reshape(-1)


def draw_counts(buf: PrioritizedReplayBuffer, draws: int) -> np.ndarray:
    counts = torch.zeros(buf.valid_mask().numel())
    for _ in range(draws // buf.batch_size):
        counts += torch.bincount(buf.sample().index, minlength=counts.numel())
    return counts.numpy()


def assert_proportional(buf: PrioritizedReplayBuffer, priorities: np.ndarray, draws: int) -> np.ndarray:
    """Chi-square of sampled counts against P(i) = p_i^alpha / sum_k p_k^alpha over valid rows."""
    ids = valid_ids(buf).numpy()
    counts = draw_counts(buf, draws)
    draws = counts.sum()
    assert counts[np.setdiff1d(np.arange(len(counts)), ids)].sum() == 0
    prob = (priorities[ids] + EPS) ** ALPHA
    prob /= prob.sum()
    stat = chi_square(counts[ids], prob * draws)
    assert stat < chi_square_threshold(len(ids) - 1), stat
    return counts


def test_sampling_follows_priorities_and_updates_change_them() -> None:
    buf, _ = per_buffer()
    ids = valid_ids(buf)
    rng = np.random.default_rng(1)
    priorities = np.zeros(buf.valid_mask().numel())
    priorities[ids.numpy()] = rng.uniform(0.05, 3.0, len(ids))
    buf.update_priorities(ids, torch.from_numpy(priorities[ids.numpy()]).float())
    before = assert_proportional(buf, priorities, draws=400 * len(ids))
    boosted = ids[::7]
    priorities[boosted.numpy()] = 40.0  # a few rows become far more likely
    buf.update_priorities(boosted, -torch.full((len(boosted),), 40.0))  # sign is ignored: |delta|
    after = assert_proportional(buf, priorities, draws=400 * len(ids))
    assert after[boosted.numpy()].sum() > 3 * before[boosted.numpy()].sum()


def test_importance_weights_equal_their_formula() -> None:
    buf, _ = per_buffer(seed=2, batch_size=32)
    ids = valid_ids(buf)
    p = torch.rand(len(ids), generator=torch.Generator().manual_seed(0)) * 2
    buf.update_priorities(ids, p)
    buf.set_beta(0.55)
    batch = buf.sample()
    leaf = {int(i): (float(x) + EPS) ** ALPHA for i, x in zip(ids, p, strict=True)}
    total = sum(leaf.values())
    w = np.array([(len(ids) * leaf[int(i)] / total) ** -buf.beta for i in batch.index])
    np.testing.assert_allclose(batch.weight.numpy(), w / w.max(), rtol=1e-5)  # max over the batch
    assert batch.weight.max().item() == 1.0


def test_new_rows_get_max_priority_and_invalid_rows_zero() -> None:
    buf, rec = per_buffer(seed=3)
    ids = valid_ids(buf)
    buf.update_priorities(ids, torch.linspace(0.0, 7.5, len(ids)))
    old_valid = buf.valid_mask().clone()
    env = FakeVectorEnv(3, 4, p_term=0.1, p_trunc=0.1, max_len=10, seed=9)
    more = run_env(env, 120, num_actions=4, seed=9, reset_obs=env.reset())
    for t in range(len(more)):  # a second stream: wraps the 40-row buffer three times
        add_step(buf, more, t)
        leaves = buf.tree.leaves.reshape(buf.valid_mask().shape)
        assert (leaves[~buf.valid_mask()] == 0).all()
        assert (leaves[buf.valid_mask()] > 0).all()
        if t == 4:  # rows validated since the update carry the max priority seen
            fresh = buf.valid_mask() & ~old_valid
            assert fresh.any()
            torch.testing.assert_close(leaves[fresh], torch.full_like(leaves[fresh], (7.5 + EPS) ** ALPHA))
    assert buf.tree.total().item() == pytest.approx(buf.tree.leaves.sum().item())


def test_update_does_not_revive_rows_that_became_invalid() -> None:
    buf, rec = per_buffer(seed=4, batch_size=8)
    batch = buf.sample()
    index = batch.index.clone()
    for t in range(len(rec) - 3, len(rec) - 3 + 60):  # overwrite rows with a fresh reset stream
        j = t % 40
        buf.add(rec.obs[j][:, -1], np.ones(3, bool), rec.action[j], rec.reward[j],
                np.ones(3, bool), np.zeros(3, bool))
    assert buf.num_valid() == 0  # every step terminates: only final observations remain
    buf.update_priorities(index, torch.ones(8))
    assert buf.tree.total().item() == 0.0 and not buf.can_sample()


def test_beta_is_set_by_the_buffer_user() -> None:
    buf, _ = per_buffer(seed=5)
    assert buf.beta == 0.4
    buf.set_beta(0.9)
    assert buf.beta == 0.9
    with pytest.raises(ValueError, match="beta must be >= 0"):
        buf.set_beta(-0.1)
