"""`scripts/metarl.py train` and `figures` end to end on tiny runs: every figure and the JSON are written."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from neuro.metarl.config import TASK_RUNS
from neuro.metarl.figures import FIGURES

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "metarl.py"
TINY = ["agent.num_envs=4", "agent.hidden_size=8", "bandit_trials=10", "two_step_trials=5",
        "tasks.bandit_independent.episodes=8", "tasks.bandit_dependent.episodes=8", "tasks.two_step.episodes=8",
        "tasks.harlow.episodes=16", "tasks.bandit_independent.rollout_steps=10",
        "tasks.bandit_dependent.rollout_steps=10", "tasks.two_step.rollout_steps=10", "log_every_updates=1",
        "tensorboard=false", "evaluation.episodes=12", "evaluation.harlow_episodes=14",
        "evaluation.baseline_episodes=20", "evaluation.decode_folds=2", "evaluation.gittins_depth=10",
        "evaluation.gittins_grid=51", "evaluation.harlow_bins=3", "dpi=40"]


def metarl_main(argv: list[str]) -> int:
    spec = importlib.util.spec_from_file_location("metarl_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


def test_train_then_figures_write_every_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs = f"runs_root={tmp_path / 'runs'}"
    for task in TASK_RUNS:
        assert metarl_main(["train", f"task={task}", runs, *TINY]) == 0
    out = tmp_path / "figs"
    assert metarl_main(["figures", "--out", str(out), runs, *TINY]) == 0
    for name in (*FIGURES, "metarl.json"):
        assert (out / name).stat().st_size > 0, name
    data = json.loads((out / "metarl.json").read_text())
    assert set(data["bandits"]) == {"independent", "dependent"}
    assert set(data["bandits"]["independent"]["final_regret"]) == {"agent", "thompson", "ucb1", "gittins"}
    assert len(data["bandits"]["dependent"]["regret_curves"]["agent"]["mean"]) == 10
    assert set(data["two_step"]["stay"]) == {"rewarded/common", "rewarded/uncommon", "unrewarded/common",
                                             "unrewarded/uncommon"}
    assert "interaction" in data["two_step"]["regression"]
    assert len(data["harlow"]["accuracy_by_trial"]["mean"]) == 6 and data["harlow"]["training"]["trial1"]["mean"]
    assert data["harlow"]["run"]["episodes"] == 16
    assert data["harlow"]["trial1_vs_chance"]["episodes"] == 14 and 0 <= data["harlow"]["trial1_vs_chance"]["p"] <= 1
    assert "Harlow (14 episodes): trial 1" in capsys.readouterr().out


def test_cli_errors(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        metarl_main(["figures"])  # needs --out
    with pytest.raises(SystemExit):
        metarl_main(["train", "task"])  # not key=value
    with pytest.raises(FileNotFoundError, match="train it first"):
        metarl_main(["figures", "--out", str(tmp_path), f"runs_root={tmp_path}"])
