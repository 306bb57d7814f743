"""The three meta-RL tasks: reward rules and probabilities (chi-square where random), reversals, Harlow's
observation and rule, registration and input checks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from scipy import stats

from neuro.metarl.envs import BANDIT_ID, HARLOW_ID, TWO_STEP_ID, BanditEnv, HarlowEnv, TwoStepEnv, arm_probabilities

ALPHA = 1e-3  # a correct env fails a chi-square test one time in a thousand


def test_registered_ids_make_the_envs() -> None:
    for env_id, cls in ((BANDIT_ID, BanditEnv), (TWO_STEP_ID, TwoStepEnv), (HARLOW_ID, HarlowEnv)):
        assert isinstance(gym.make(env_id).unwrapped, cls)


def test_arm_structures_draw_uniform_probabilities() -> None:
    rng = np.random.default_rng(0)
    dependent = np.array([arm_probabilities("dependent", rng) for _ in range(2000)])
    np.testing.assert_allclose(dependent.sum(1), 1.0)
    independent = np.array([arm_probabilities("independent", rng) for _ in range(2000)])
    for column in (dependent[:, 0], independent[:, 0], independent[:, 1]):
        assert stats.kstest(column, "uniform").pvalue > ALPHA
    assert abs(stats.pearsonr(independent[:, 0], independent[:, 1])[0]) < 0.1
    with pytest.raises(ValueError, match="valid: independent, dependent"):
        BanditEnv("correlated")


def test_bandit_pays_each_arm_with_its_probability() -> None:
    env = BanditEnv("independent", num_trials=100)
    obs, info = env.reset(seed=3)
    probs = info["probs"]
    assert obs.shape == (1,) and obs[0] == 1.0
    counts = np.zeros((2, 2))
    for _ in range(40):  # re-seeding keeps the same task (the same probabilities) in every episode
        env.reset(seed=3)
        for t in range(100):
            arm = t % 2
            _, reward, terminated, truncated, info = env.step(arm)
            counts[arm, int(reward)] += 1
            assert info["regret"] == pytest.approx(probs.max() - probs[arm])
            assert terminated == (t == 99) and not truncated
    for arm in range(2):
        expected = counts[arm].sum() * np.array([1 - probs[arm], probs[arm]])
        assert stats.chisquare(counts[arm], expected).pvalue > ALPHA
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be in \[0, 2\)"):
        env.step(2)


def test_two_step_transitions_rewards_and_reversals() -> None:
    env = TwoStepEnv(num_trials=20_000)
    obs, info = env.reset(seed=1)
    np.testing.assert_array_equal(obs, [1, 0, 1, 0, 0])  # step 0, stage-1 state
    transitions = np.zeros(2)  # [uncommon, common] counts
    outcome = np.zeros((2, 2))  # [in rewarded state?, reward]
    reversals, trials = 0, 20_000
    for t in range(trials):
        action = t % 2
        obs, reward, _, _, info = env.step(action)
        assert reward == 0.0 and obs[1] == 1.0 and obs[3 + info["state"]] == 1.0
        assert info["state"] == (action if info["common"] else 1 - action)
        transitions[int(info["common"])] += 1
        rewarded_before = info["rewarded_state"]
        obs, reward, terminated, _, info = env.step(action)
        outcome[int(info["state"] == rewarded_before), int(reward)] += 1
        reversals += int(info.get("reversal", False))
        assert info["rewarded_state"] == (1 - rewarded_before if info.get("reversal") else rewarded_before)
        assert terminated == (t == trials - 1)
    n = transitions.sum()
    assert stats.chisquare(transitions, n * np.array([0.2, 0.8])).pvalue > ALPHA
    for in_rewarded, p in ((1, 0.9), (0, 0.1)):
        row = outcome[in_rewarded]
        assert stats.chisquare(row, row.sum() * np.array([1 - p, p])).pvalue > ALPHA
    assert stats.binomtest(reversals, trials, 0.025).pvalue > ALPHA


def test_harlow_observation_and_reward_rule() -> None:
    bits = 6
    env = HarlowEnv(image_bits=bits)
    left_counts = np.zeros(2)
    for episode in range(300):
        obs, _ = env.reset(seed=episode)
        assert obs.shape == (2 + 1 + 3 * bits,)
        rewarded, chosen = None, np.zeros(bits)
        for trial in range(6):
            np.testing.assert_array_equal(obs[:3], [1, 0, 1])  # fixation: step 0, the fixation flag,
            assert not obs[3:3 + 2 * bits].any()  # no objects to choose from,
            np.testing.assert_array_equal(obs[3 + 2 * bits:], chosen)  # the last trial's choice (none at first)
            obs, reward, terminated, _, info = env.step(1)  # the fixation step ignores the action
            assert reward == 0.0 and not terminated and info == {}
            assert obs[1] == 1.0 and obs[2] == 0.0
            left, right = obs[3:3 + bits], obs[3 + bits:3 + 2 * bits]
            assert set(np.unique(obs[3:])) <= {0.0, 1.0} and (left != right).any()
            assert not obs[3 + 2 * bits:].any()  # no feedback while choosing
            action = int(np.random.default_rng(episode * 10 + trial).integers(2))
            obs, reward, terminated, _, info = env.step(action)
            chosen, other = (left.copy(), right) if action == 0 else (right.copy(), left)
            if rewarded is None:  # the first choice reveals which object is rewarded
                rewarded = chosen if reward > 0 else other
            assert reward == (1.0 if np.array_equal(chosen, rewarded) else -1.0)
            assert info["correct"] == (reward > 0)
            assert info["correct_action"] == (0 if np.array_equal(left, rewarded) else 1)
            left_counts[info["correct_action"]] += 1
            assert terminated == (trial == 5)
    assert stats.chisquare(left_counts).pvalue > ALPHA  # the rewarded object's side is a fair coin


def test_harlow_feedback_and_reward_alone_name_the_rewarded_object() -> None:
    """What the agent must carry from trial to trial fits in what one step shows: the fixation step's
    feedback image with the previous reward names the rewarded object (the chosen one if it paid, else
    the other), with no need to recall the last layout or the action taken."""
    bits = 5
    env = HarlowEnv(image_bits=bits)
    rng = np.random.default_rng(0)
    for episode in range(200):
        obs, _ = env.reset(seed=episode)
        obs, _, _, _, _ = env.step(0)
        objects = {tuple(obs[3:3 + bits]), tuple(obs[3 + bits:3 + 2 * bits])}
        obs, reward, _, _, _ = env.step(int(rng.integers(2)))
        feedback = tuple(obs[3 + 2 * bits:])
        assert feedback in objects
        named = feedback if reward > 0 else (objects - {feedback}).pop()
        for _ in range(5):
            obs, _, _, _, _ = env.step(0)
            left = tuple(obs[3:3 + bits])
            obs, reward, _, _, info = env.step(0 if left == named else 1)
            assert reward == 1.0 and info["correct"]


def test_harlow_objects_are_new_each_episode() -> None:
    env = HarlowEnv(image_bits=16)
    seen = set()
    for episode in range(50):
        env.reset(seed=episode)
        seen.add(tuple(env.objects.ravel()))
    assert len(seen) == 50


def test_bad_parameters_fail_naming_them() -> None:
    with pytest.raises(ValueError, match="common_prob must be in"):
        TwoStepEnv(common_prob=1.5)
    with pytest.raises(ValueError, match="image_bits must be >= 1"):
        HarlowEnv(image_bits=0)
    with pytest.raises(ValueError, match="num_trials must be >= 1"):
        BanditEnv(num_trials=0)
