"""A real training run on the variable-magnitude env, the agent analysis on it, and both script commands.

The run: `agent=expectile experiment=variable_magnitude` with 15 expectiles for 6000 frames (2000 trials, 5501
updates; about 20 s on one unloaded core) through `training.loop.run`. Bound: the distribution decoded from
the channels' measured reversal points and asymmetries within W1 1.2 µl of the task's (measured 0.79; the
point mass at the mean is at 3.72, and imputing from the exact 15 expectiles gets ~0.7: 15 equally
weighted samples cannot match a 7-atom distribution with unequal masses).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from agents import build_agent
from neuro.dopamine.agent_cells import analyze_run, channel_responses, channel_statistics
from neuro.dopamine.tasks import VARIABLE_MAGNITUDE
from tests.conftest import train_config
from training.loop import run

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "dopamine.py"


def dopamine_main(argv: list[str]) -> int:
    spec = importlib.util.spec_from_file_location("dopamine_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    threads = torch.get_num_threads()
    cfg = train_config([
        "agent=expectile", "experiment=variable_magnitude", "agent.head.num_expectiles=15", "trainer.total_frames=6000",
        "trainer.progress=false", "logger.tensorboard=false", "trainer.torch_threads=1",
        f"runs_root={tmp_path_factory.mktemp('runs')}",
    ])
    try:
        assert run(cfg) == "done"
    finally:
        torch.set_num_threads(threads)
    return Path(cfg.run_dir)


@pytest.mark.slow
def test_decodes_the_task_distribution_from_a_trained_expectile_agent(trained_run: Path) -> None:
    analysis = analyze_run(trained_run)
    assert (analysis["agent"], analysis["form"], len(analysis["taus"])) == ("expectile", "expectile", 15)
    np.testing.assert_allclose(analysis["asymmetry"], analysis["taus"], atol=0.01)  # α⁺/(α⁺+α⁻) = τ by design
    np.testing.assert_allclose(analysis["reversal"], analysis["values"], atol=0.02)  # the zero crossing = θ_i
    assert analysis["r_asymmetry_reversal"] > 0.9
    assert analysis["values"][7] == pytest.approx(VARIABLE_MAGNITUDE.mean, abs=0.5)  # τ = 0.5: the mean
    assert analysis["decoded_measured"]["w1"] < 1.2
    assert analysis["w1_mean_only"] == pytest.approx(3.7247, abs=1e-4)


@pytest.mark.slow
def test_analyze_and_figures_commands_write_their_files(trained_run: Path, tmp_path: Path) -> None:
    assert dopamine_main(["analyze", f"run_dir={trained_run}", "--out", str(tmp_path / "a")]) == 0
    analysis = json.loads((tmp_path / "a" / "analysis.json").read_text())
    assert analysis["agent"] == "expectile" and len(analysis["responses"]) == 15
    assert (tmp_path / "a" / "agent_cells.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    out = tmp_path / "f"
    assert dopamine_main(["figures", "--out", str(out), "model.num_cells=20", "model.num_trials=4000",
                          f"run_dir={trained_run}", "dpi=50"]) == 0
    for name in ("response_curves.png", "asymmetry_reversal.png", "decoding.png", "cue_responses.png",
                 "agent_cells.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    data = json.loads((out / "dopamine.json").read_text())
    assert set(data) == {"model", "agent"}
    model = data["model"]
    assert model["populations"]["distributional"]["noiseless"]["r"] > 0.9
    assert model["populations"]["classical"]["noiseless"]["r"] is None  # all reversal points equal
    assert set(model["decoded"]) == {"expectile_model", "expectile_recorded", "quantile_model"}
    assert len(model["cues"]["distributional"]["responses"]) == 20


def test_script_arguments_fail_with_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        dopamine_main(["figures"])
    assert "figures needs --out DIR" in capsys.readouterr().err
    assert dopamine_main(["analyze"]) == 2
    assert "analyze needs run_dir=RUN" in capsys.readouterr().err
    with pytest.raises(Exception, match="model.num_cels"):
        dopamine_main(["figures", "--out", str(tmp_path), "model.num_cels=3"])
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        dopamine_main(["analyze", f"run_dir={tmp_path}"])


def test_channel_readout_rejects_heads_without_channels() -> None:
    cfg = train_config(["agent=c51", "experiment=variable_magnitude"]).agent
    agent = build_agent(cfg, (1, 2), 1, "cpu", seed=0)
    with pytest.raises(ValueError, match="needs a head with quantile or expectile channels.*CategoricalHead"):
        channel_statistics(agent, np.array([0.0, 1.0], dtype=np.float32))


def test_channel_responses_by_hand() -> None:
    values, taus, magnitudes = np.array([2.0]), np.array([0.25]), np.array([0.0, 4.0])
    delta, expectile = channel_responses(values, taus, magnitudes, "expectile")
    np.testing.assert_allclose(delta, [[-2.0, 2.0]])
    np.testing.assert_allclose(expectile, [[-1.5, 0.5]])  # (1 − τ)·δ below, τ·δ above
    _, huber = channel_responses(values, taus, magnitudes, "quantile", kappa=1.0)
    np.testing.assert_allclose(huber, [[-0.75, 0.25]])  # clipped at κ: the quantile Huber gradient
    _, sign = channel_responses(values, taus, np.array([1.5, 2.5]), "quantile", kappa=0.0)
    np.testing.assert_allclose(sign, [[-0.75, 0.25]])


@pytest.mark.parametrize("name", ["qrdqn", "iqn", "fqf", "expectile"])
def test_every_channel_head_is_read_as_cells(name: str) -> None:
    from neuro.dopamine.agent_cells import analyze_agent

    cfg = train_config([f"agent={name}", "experiment=variable_magnitude"]).agent
    agent = build_agent(cfg, (1, 2), 1, "cpu", seed=0)
    channels = channel_statistics(agent, np.array([0.0, 1.0], dtype=np.float32), num_channels=31)
    assert channels["taus"].shape == channels["values"].shape == (31,)
    assert (np.diff(channels["taus"]) > 0).all() and 0 < channels["taus"][0] < channels["taus"][-1] < 1
    assert channels["form"] == ("expectile" if name == "expectile" else "quantile")
    analysis = analyze_agent(channels, VARIABLE_MAGNITUDE, decode_iterations=5)
    assert analysis["responses"].shape == (31, 7) and np.isfinite(analysis["decoded_channels"]["w1"])
