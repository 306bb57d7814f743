"""`agent.compile=graph`: the update replayed as one CUDA graph computes what the eager update does.

The snapshot that makes the capture's warm-up invisible, and the optimizer flags a checkpoint brings,
are checked on the CPU; the graph itself only where torch sees a GPU (the lent GPU machine; CI has none).
"""

from __future__ import annotations

import copy

import pytest
import torch
from test_fast_paths import SMALL_HEADS, _batch, _small_agent_config

from agents import GROUP_OPTIMIZERS, Agent, build_agent
from agents.config import AgentConfig, OptimConfig
from agents.cuda_graph import GraphedUpdate, TrainingStateSnapshot, set_capturable
from replay.buffer import Batch

NO_CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")


def _config(name: str, optimizer: str = "adam") -> AgentConfig:
    cfg = _small_agent_config(name, SMALL_HEADS[name], double_q=name == "iqn")
    cfg.optim = OptimConfig(name=optimizer, lr=1e-3, eps=1e-4 if optimizer == "adam" else 1e-2, max_grad_norm=0.5)
    return cfg


def _on(batch: Batch, device: str) -> Batch:
    return Batch(**{k: getattr(batch, k).to(device) for k in batch.__dataclass_fields__})


def _assert_same_parameters(got: Agent, expected: Agent, msg: str) -> None:
    for (name, p_expected), p_got in zip(expected.online.named_parameters(), got.online.parameters(), strict=True):
        torch.testing.assert_close(p_got, p_expected, rtol=1e-5, atol=1e-6, msg=f"{msg} {name}")


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
@pytest.mark.parametrize("updates_before", [0, 2])
def test_restored_snapshot_undoes_updates_exactly(optimizer: str, updates_before: int) -> None:
    """Updates after a snapshot, then restore: the next update is the one an untouched twin makes, whether
    the optimizer had state at the snapshot (copied back) or none yet (zeroed, as a first step creates it)."""
    cfg = _config("fqf", optimizer)
    agent, twin = build_agent(cfg, (1, 4), 3, "cpu", seed=1), build_agent(cfg, (1, 4), 3, "cpu", seed=1)
    for step in range(updates_before):
        agent.update(_batch(seed=step))
        twin.update(_batch(seed=step))
    addresses = [p.data_ptr() for p in agent.online.parameters()]
    snapshot = TrainingStateSnapshot(agent.online.parameters(), agent.optimizers.values())
    for step in range(3):
        agent.update(_batch(seed=10 + step))
    snapshot.restore()
    assert [p.data_ptr() for p in agent.online.parameters()] == addresses
    expected, got = twin.update(_batch(seed=7)), agent.update(_batch(seed=7))
    torch.testing.assert_close(got["loss"], expected["loss"])
    _assert_same_parameters(agent, twin, "after restore")


def test_snapshot_without_restore_is_no_undo() -> None:
    """The check above can fail: without the restore, the three updates show."""
    cfg = _config("dqn")
    agent, twin = build_agent(cfg, (1, 4), 3, "cpu", seed=1), build_agent(cfg, (1, 4), 3, "cpu", seed=1)
    TrainingStateSnapshot(agent.online.parameters(), agent.optimizers.values())
    agent.update(_batch(seed=10))
    with pytest.raises(AssertionError):
        _assert_same_parameters(agent, twin, "no restore")


def test_set_capturable_moves_step_counts_to_where_torch_keeps_them() -> None:
    """A checkpoint written by a graphed (capturable) optimizer loads into an eager CPU one that then steps,
    and the reverse flag puts the counts on the parameters' device."""
    params = [torch.nn.Parameter(torch.randn(3))]
    source = torch.optim.RMSprop(params, lr=1e-2, foreach=True)
    params[0].grad = torch.ones(3)
    source.step()
    state = copy.deepcopy(source.state_dict())
    state["param_groups"][0]["capturable"] = True
    eager = torch.optim.RMSprop(params, lr=1e-2, foreach=True)
    eager.load_state_dict(state)
    assert eager.param_groups[0]["capturable"]
    set_capturable(eager, False)
    assert not eager.param_groups[0]["capturable"]
    assert eager.state[params[0]]["step"].device.type == "cpu"
    eager.step()
    assert int(eager.state[params[0]]["step"]) == 2
    set_capturable(eager, True)
    assert eager.param_groups[0]["capturable"]
    assert eager.state[params[0]]["step"].dtype == torch.float32


def test_graph_mode_needs_a_cuda_device() -> None:
    cfg = _config("dqn")
    network = build_agent(cfg, (1, 4), 3, "cpu").online
    with pytest.raises(ValueError, match="compile mode 'graph' .* needs a CUDA device; this agent is on cpu"):
        Agent(network, optimizers={"main": GROUP_OPTIMIZERS["main"](cfg)}, compile="graph")
    with pytest.raises(ValueError, match="needs a CUDA device; got cpu"):
        GraphedUpdate(lambda: {}, [], [], torch.device("cpu"))


def _eager_and_graphed(cfg: AgentConfig) -> tuple[Agent, Agent]:
    eager = build_agent(cfg, (1, 4), 3, "cuda", seed=3)
    specs = {group: GROUP_OPTIMIZERS[group](cfg) for group in eager.optimizers}
    graphed = Agent(copy.deepcopy(eager.online), optimizers=specs, double_q=cfg.double_q, device="cuda", seed=3,
                    compile="graph")
    return eager, graphed


@NO_CUDA
@pytest.mark.parametrize(("name", "optimizer"), [(name, "adam") for name in SMALL_HEADS] + [("dqn", "rmsprop")])
def test_graphed_update_equals_eager(name: str, optimizer: str) -> None:
    """Capture (after warm-up updates that must leave no trace) and replays on new batches, target syncs
    between them: the same metrics, priorities and parameters as the eager update."""
    eager, graphed = _eager_and_graphed(_config(name, optimizer))
    for step in range(5):
        batch = _on(_batch(seed=step), "cuda")
        expected, got = eager.update(batch), graphed.update(batch)
        assert graphed._graphed_update.captured
        assert list(got) == list(expected)
        for key in expected:
            torch.testing.assert_close(got[key], expected[key], rtol=1e-5, atol=1e-6, msg=f"{name} {key} {step}")
        if step == 2:
            eager.sync_target()
            graphed.sync_target()
    _assert_same_parameters(graphed, eager, name)
    assert graphed.num_updates == eager.num_updates == 5


@NO_CUDA
def test_graphed_outputs_survive_the_next_update() -> None:
    """Each update's metrics are its own tensors, not the graph's buffers that the next replay overwrites."""
    _, graphed = _eager_and_graphed(_config("qrdqn"))
    first = graphed.update(_on(_batch(seed=0), "cuda"))
    kept = {k: v.clone() for k, v in first.items()}
    graphed.update(_on(_batch(seed=1), "cuda"))
    for key in kept:
        torch.testing.assert_close(first[key], kept[key])


@NO_CUDA
def test_graphed_agent_resumes_from_an_eager_checkpoint() -> None:
    """An eager agent's state (non-capturable optimizer groups) loads into a graphed agent that has already
    captured: it recaptures on the new state tensors and continues exactly as the eager agent does."""
    cfg = _config("iqn")
    eager, graphed = _eager_and_graphed(cfg)
    graphed.update(_on(_batch(seed=9), "cuda"))
    eager.update(_on(_batch(seed=0), "cuda"))
    graphed.load_state_dict(copy.deepcopy(eager.state_dict()))
    assert not graphed._graphed_update.captured
    assert all(group["capturable"] for opt in graphed.optimizers.values() for group in opt.param_groups)
    for step in range(1, 4):
        batch = _on(_batch(seed=step), "cuda")
        torch.testing.assert_close(graphed.update(batch)["loss"], eager.update(batch)["loss"], rtol=1e-5, atol=1e-6)
    _assert_same_parameters(graphed, eager, "resumed")


@NO_CUDA
def test_new_batch_shape_recaptures() -> None:
    eager, graphed = _eager_and_graphed(_config("c51"))
    for step, batch_size in enumerate((16, 16, 8, 16)):
        batch = _on(_batch(batch_size=batch_size, seed=step), "cuda")
        torch.testing.assert_close(graphed.update(batch)["loss"], eager.update(batch)["loss"], rtol=1e-5, atol=1e-6)
    _assert_same_parameters(graphed, eager, "recaptured")
