"""The policy-agreement measure: hand-computed shares, and the replay read back oldest first, aligned."""

from __future__ import annotations

import numpy as np
import policy_agreement
import pytest
import torch
from policy_agreement import parse_classes

from analysis.policy_agreement import agreement_by_age, taken_and_greedy_actions
from replay.buffer import ReplayBuffer
from tests.analysis.conftest import TINY_CARTPOLE
from training.config import train_config
from training.loop import run

CLASSES = {"up": [2], "down": [4], "stay": [0, 1, 3]}


def test_agreement_by_age_matches_hand_counts():
    taken = np.array([0, 1, 2, 2, 4])
    greedy = np.array([0, 3, 2, 1, 4])
    last2, last5 = agreement_by_age(taken, greedy, [2, 5], CLASSES)
    # last 2: (2, 1) differ, (4, 4) agree; classes (up, stay), (down, down).
    assert (last2.steps, last2.agree, last2.agree_class) == (2, 0.5, 0.5)
    assert last2.taken_shares == {"up": 0.5, "down": 0.5, "stay": 0.0}
    assert last2.greedy_shares == {"up": 0.0, "down": 0.5, "stay": 0.5}
    # all 5: actions agree at 0, 2, 4; classes also at 1 (1 and 3 both stay).
    assert (last5.agree, last5.agree_class) == (pytest.approx(0.6), pytest.approx(0.8))
    assert last5.taken_shares == pytest.approx({"up": 0.4, "down": 0.2, "stay": 0.4})
    assert last5.greedy_shares == pytest.approx({"up": 0.2, "down": 0.2, "stay": 0.6})
    assert np.isnan(agreement_by_age(taken, greedy, [5])[0].agree_class)


def test_agreement_rejects_unclassed_actions_and_windows_longer_than_the_replay():
    with pytest.raises(ValueError, match=r"actions \[5\] are in no class"):
        agreement_by_age(np.array([5, 0]), np.array([0, 0]), [2], CLASSES)
    with pytest.raises(ValueError, match="the replay holds 2"):
        agreement_by_age(np.array([1, 0]), np.array([0, 0]), [3])


def test_parse_classes():
    assert parse_classes("up=2; down=4;stay=0,1,3,5") == {"up": [2], "down": [4], "stay": [0, 1, 3, 5]}
    with pytest.raises(ValueError, match="NAME=ACTION"):
        parse_classes("up")


class _ObsModThree:
    """An agent whose greedy action is its observation's value mod 3."""

    def act(self, obs: torch.Tensor, epsilon: float) -> torch.Tensor:
        assert epsilon == 0.0
        return obs[:, -1, 0].long() % 3


def test_taken_and_greedy_read_the_wrapped_replay_oldest_first_with_each_obs_beside_its_action():
    replay = ReplayBuffer(capacity=8, num_envs=2, frame_shape=(1,), frame_dtype=torch.float32, stack=1, n_step=1,
                          gamma=0.99, reward_clip=None, batch_size=3, device="cpu", seed=0)
    for step in range(7):  # 4 rows per env: rows 3..6 are kept, and row 6 has no successor yet
        replay.add(frames=np.array([[10.0 * step], [10.0 * step + 1]], dtype=np.float32),
                   first=np.array([step == 0] * 2), action=np.array([(step + env) % 3 for env in range(2)]),
                   reward=np.zeros(2, dtype=np.float32), terminated=np.zeros(2, bool), truncated=np.zeros(2, bool))
    taken, greedy = taken_and_greedy_actions(replay, _ObsModThree(), chunk=4)
    kept = [(step, env) for step in (3, 4, 5) for env in (0, 1)]
    np.testing.assert_array_equal(taken, [(step + env) % 3 for step, env in kept])
    np.testing.assert_array_equal(greedy, [(10 * step + env) % 3 for step, env in kept])


def test_script_reads_a_real_run_and_rejects_a_dir_without_checkpoint(tmp_path, capsys):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert run(train_config([*TINY_CARTPOLE, "agent=c51", "seed=0", f"runs_root={tmp_path}"])) == "done"
    finally:
        torch.set_num_threads(threads)
    run_dir = next(tmp_path.glob("tiny/c51/cartpole/seed0"))
    assert policy_agreement.main([str(run_dir), "--lasts", "100,100000", "--classes", "left=0;right=1"]) == 0
    out = capsys.readouterr().out
    stored = int(out.split(", ")[1].split()[0])
    assert 300 < stored < 400  # 400 steps, all in the buffer, less the newest without a successor
    assert "last     100 steps: same action" in out and f"last {stored:>7} steps" in out
    assert policy_agreement.main([str(tmp_path / "missing")]) == 2
