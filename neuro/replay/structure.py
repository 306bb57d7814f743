"""Movie vs imagination on Liu et al.'s (2019, Cell) structure-learning task.

Eight objects belong to two sequences of four (roles: sequence × position; true order role 0 → 1 → 2 → 3 and
4 → 5 → 6 → 7). They are shown in a scrambled *visual* order: two visual sequences of four, visual slot j
holding the object of role `VISUAL_ROLES[j]`, chosen so that no two neighbours in the visual order are
neighbours in the true order. Phase 1 (old objects): the visual order is shown and then the true order is
revealed, so the agent learns the rule (which slot holds which role, by counting) and the abstract structure
(role transitions). Phase 2 (new objects): only the visual order is shown; the agent binds each new object to
the role its slot implies. At rest it replays the new objects:

- as a *movie*: the visual sequences in the order seen;
- by *imagination*: rollouts of the learned role structure, each role played by the object bound to it, so
  replay follows the true order, never seen for these objects;
- after reward at the end of one sequence: Mattar & Daw's prioritized backups (`EVBReplay`) on the imagined
  structure, which propagate the value back from the reward, so replay runs in reverse.

Objects are numbered by their visual slot (object j appears at slot j), so `visual_matrix` is the chain of
slots and `true_matrix` joins the objects whose roles follow each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuro.replay.agent import AgentParams, Experience, TabularAgent
from neuro.replay.events import replayed_steps
from neuro.replay.sequenceness import chain_matrix
from neuro.replay.strategies import Context, EVBReplay

__all__ = ["VISUAL_ROLES", "NUM_POSITIONS", "StructureKnowledge", "learn_structure", "true_matrix",
           "visual_matrix", "movie_events", "imagination_events", "post_reward_events"]

NUM_POSITIONS = 4
VISUAL_ROLES = (5, 2, 7, 0, 3, 6, 1, 4)  # role shown at each visual slot (sequence 1: roles 0-3, 2: 4-7)
NUM_OBJECTS = len(VISUAL_ROLES)


def _true_role_sequences() -> list[list[int]]:
    return [list(range(k * NUM_POSITIONS, (k + 1) * NUM_POSITIONS)) for k in range(NUM_OBJECTS // NUM_POSITIONS)]


def _visual_slot_sequences() -> list[list[int]]:
    return [list(range(k * NUM_POSITIONS, (k + 1) * NUM_POSITIONS)) for k in range(NUM_OBJECTS // NUM_POSITIONS)]


@dataclass(frozen=True)
class StructureKnowledge:
    """What phase 1 taught: `rule_counts` [slot, role] and `role_transitions` [role, role] counts; with the
    role each new object (= slot) is bound to in phase 2, `object_roles` [O]."""

    rule_counts: np.ndarray
    role_transitions: np.ndarray
    object_roles: np.ndarray

    def object_of_role(self) -> dict[int, int]:
        return {int(role): obj for obj, role in enumerate(self.object_roles)}


def learn_structure(num_trials: int, slip: float, rng: np.random.Generator) -> StructureKnowledge:
    """Phase 1 for `num_trials` trials, each showing old objects in visual order then revealing their roles
    (each reveal misread as a random role with probability `slip`), and the true-order sequences; phase 2
    binds each new object to the most frequent role of its slot."""
    if num_trials < 1 or not 0 <= slip < 1:
        raise ValueError(f"need num_trials >= 1 and slip in [0, 1); got {num_trials}, {slip}")
    rule_counts = np.zeros((NUM_OBJECTS, NUM_OBJECTS))
    role_transitions = np.zeros((NUM_OBJECTS, NUM_OBJECTS))
    for _ in range(num_trials):
        for slot, role in enumerate(VISUAL_ROLES):
            seen = int(rng.integers(NUM_OBJECTS)) if rng.random() < slip else role
            rule_counts[slot, seen] += 1
        role_transitions += chain_matrix(_true_role_sequences(), NUM_OBJECTS)
    return StructureKnowledge(rule_counts, role_transitions, rule_counts.argmax(axis=1))


def true_matrix() -> np.ndarray:
    """P_true [O, O] over objects: object a → b when b's role follows a's in a true sequence."""
    slot_of_role = {role: slot for slot, role in enumerate(VISUAL_ROLES)}
    return chain_matrix([[slot_of_role[r] for r in seq] for seq in _true_role_sequences()], NUM_OBJECTS)


def visual_matrix() -> np.ndarray:
    """P_visual [O, O] over objects: the order of the two visual sequences."""
    return chain_matrix(_visual_slot_sequences(), NUM_OBJECTS)


def movie_events(num_events: int, rng: np.random.Generator) -> list[list[int]]:
    """Replays of the experienced new objects as lived: a visual sequence, start to end, chosen at random."""
    sequences = _visual_slot_sequences()
    return [list(sequences[int(rng.integers(len(sequences)))]) for _ in range(num_events)]


def imagination_events(knowledge: StructureKnowledge, num_events: int,
                       rng: np.random.Generator) -> list[list[int]]:
    """Rollouts of the learned role structure from a first position, role → next role by the learned
    transition counts, each role replaced by the new object bound to it (roles with no object are skipped)."""
    counts = knowledge.role_transitions
    first_roles = np.flatnonzero((counts.sum(axis=0) == 0) & (counts.sum(axis=1) > 0))
    objects = knowledge.object_of_role()
    events = []
    for _ in range(num_events):
        role = int(rng.choice(first_roles))
        rollout = [role]
        while counts[role].sum() > 0:
            role = int(rng.choice(counts.shape[1], p=counts[role] / counts[role].sum()))
            rollout.append(role)
        events.append([objects[r] for r in rollout if r in objects])
    return events


def structure_agent(knowledge: StructureKnowledge, rewarded_role: int, params: AgentParams) -> TabularAgent:
    """A tabular agent whose model is the imagined structure over the new objects: at each object, action 0
    goes on to the object of the next role (entering the rewarded role pays 1 and ends), action 1 stops (ends,
    no reward). Q starts at zero: the reward has just been learned, nothing has been replayed."""
    objects = knowledge.object_of_role()
    agent = TabularAgent(NUM_OBJECTS, 2, params)
    for role, obj in objects.items():
        agent.model_next[obj, 1], agent.model_terminal[obj, 1] = obj, True
        successors = np.flatnonzero(knowledge.role_transitions[role] > 0)
        if successors.size and int(successors[0]) in objects:
            nxt = objects[int(successors[0])]
            end = knowledge.role_transitions[int(successors[0])].sum() == 0
            agent.model_next[obj, 0] = nxt
            agent.model_reward[obj, 0] = float(int(successors[0]) == rewarded_role)
            agent.model_terminal[obj, 0] = bool(end)
    return agent


def post_reward_events(knowledge: StructureKnowledge, rewarded_role: int, num_events: int, params: AgentParams,
                       max_backups: int, evb_threshold: float, rng: np.random.Generator) -> list[list[int]]:
    """Rest bouts after the reward: each replays, by maximal EVB, until no backup is worth more than
    `evb_threshold` (or `max_backups`); the event is the sequence of objects whose values were backed up."""
    objects = knowledge.object_of_role()
    first_object = objects[rewarded_role - rewarded_role % NUM_POSITIONS]  # need is seen from the sequence's start
    restart = np.arange(NUM_OBJECTS)
    strategy = EVBReplay(evb_threshold=evb_threshold)
    events = []
    for _ in range(num_events):
        agent = structure_agent(knowledge, rewarded_role, params)
        context = Context(first_object, "rest", restart, ())
        steps: list[Experience] = replayed_steps(strategy.replay(agent, context, max_backups, rng))
        events.append([e.state for e in steps])
    return events
