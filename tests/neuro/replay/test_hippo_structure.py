"""Liu et al.'s structure task: the rule is learned, movie replay follows the visual order, imagination the
true order, and prioritized backups after reward run the true order backwards; TDLM sees each (small scale).

TDLM bounds (1500 bins, 40 events, 60 permutations, seed 0): each condition's sequenceness at the replay lag
is beyond the permutation threshold with the expected sign against its own order, and inside it against
the other order.
"""

from __future__ import annotations

import numpy as np

from neuro.replay.agent import AgentParams
from neuro.replay.config import load_replay_config
from neuro.replay.structure import (
    VISUAL_ROLES,
    imagination_events,
    learn_structure,
    movie_events,
    post_reward_events,
    true_matrix,
    visual_matrix,
)
from neuro.replay.study import liu_study


def edges(events: list[list[int]]) -> set[tuple[int, int]]:
    return {(a, b) for e in events for a, b in zip(e, e[1:], strict=False)}


def test_visual_and_true_orders_share_no_neighbours() -> None:
    true, visual = true_matrix(), visual_matrix()
    assert true.sum() == visual.sum() == 6
    assert (true * visual).sum() == 0 and (true * visual.T).sum() == 0


def test_rule_learning_binds_each_new_object_to_its_role() -> None:
    knowledge = learn_structure(num_trials=5, slip=0.0, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(knowledge.object_roles, VISUAL_ROLES)
    noisy = learn_structure(num_trials=20, slip=0.3, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(noisy.object_roles, VISUAL_ROLES)


def test_movie_imagination_and_post_reward_orders() -> None:
    rng = np.random.default_rng(0)
    knowledge = learn_structure(5, 0.0, rng)
    true = {tuple(e) for e in np.argwhere(true_matrix() > 0)}
    visual = {tuple(e) for e in np.argwhere(visual_matrix() > 0)}
    assert edges(movie_events(20, rng)) == visual
    assert edges(imagination_events(knowledge, 20, rng)) == true
    params = AgentParams(alpha=1.0, gamma=0.9, policy="softmax", beta=5.0)
    after = post_reward_events(knowledge, 3, 5, params, max_backups=10, evb_threshold=1e-6, rng=rng)
    slot_of_role = {role: slot for slot, role in enumerate(VISUAL_ROLES)}
    assert after == [[slot_of_role[2], slot_of_role[1], slot_of_role[0]]] * 5  # back from the reward


def test_tdlm_tells_movie_from_imagination_and_sees_the_flip_after_reward() -> None:
    cfg = load_replay_config(["liu.num_bins=1500", "liu.num_events=40", "liu.num_permutations=60"]).liu
    result = liu_study(cfg, np.random.default_rng(0))["conditions"]
    expected = {"movie": ("visual", 1), "imagination": ("true", 1), "imagination_after_reward": ("true", -1)}
    for name, (order, sign) in expected.items():
        other = "visual" if order == "true" else "true"
        own, off = result[name][order], result[name][other]
        assert sign * own["at_replay_lag"] > own["threshold"], (name, own["at_replay_lag"], own["threshold"])
        assert abs(off["at_replay_lag"]) < off["threshold"], (name, off["at_replay_lag"], off["threshold"])
