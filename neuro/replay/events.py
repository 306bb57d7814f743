"""Replay events: runs of consecutive replayed transitions that chain forward or backward in space.

A bout's backups are read as the sequence of transitions they replayed (for an n-step backup, the step it
added at the end of the sequence). Two consecutive transitions are linked *forward* when the second starts
where the first ended (s_{i+1} = s'_i), *reverse* when the second ends where the first started
(s'_{i+1} = s_i); a pair that is both (a two-state back-and-forth) or neither breaks the chain. An event is a
maximal run of transitions linked in one direction, at least `min_length` transitions long (Mattar & Daw,
like Foster & Wilson 2006 and Diba & Buzsáki 2007, count forward and reverse events at the start and goal).
"""

from __future__ import annotations

from dataclasses import dataclass

from neuro.replay.agent import Experience

__all__ = ["ReplayEvent", "replayed_steps", "link_direction", "detect_events", "count_events"]


@dataclass(frozen=True)
class ReplayEvent:
    """`direction` ("forward" or "reverse"), the index of its first transition in the bout, its `states` in
    the order replayed (length + 1 of them)."""

    direction: str
    first: int
    states: tuple[int, ...]

    @property
    def length(self) -> int:
        return len(self.states) - 1


def replayed_steps(backups: list[list[Experience]]) -> list[Experience]:
    """The transition each backup replayed: the last of its sequence (an n-step backup extends the last one)."""
    return [sequence[-1] for sequence in backups]


def link_direction(first: Experience, second: Experience) -> str | None:
    """"forward", "reverse" or None for two consecutive replayed transitions (see the module docstring)."""
    forward = second.state == first.next_state
    reverse = second.next_state == first.state
    if forward == reverse:
        return None
    return "forward" if forward else "reverse"


def detect_events(steps: list[Experience], min_length: int) -> list[ReplayEvent]:
    """Every maximal forward or reverse run of at least `min_length` (≥ 2) transitions in `steps`."""
    if min_length < 2:
        raise ValueError(f"min_length must be >= 2 transitions (one link); got {min_length}")
    events = []
    links = [link_direction(a, b) for a, b in zip(steps, steps[1:], strict=False)]
    i = 0
    while i < len(links):
        direction = links[i]
        j = i
        while j < len(links) and links[j] == direction:
            j += 1
        count = j - i + 1  # transitions i .. j
        if direction is not None and count >= min_length:
            run = steps[i:j + 1]
            states = (*(s.state for s in run), run[-1].next_state) if direction == "forward" else (
                *(s.next_state for s in run), run[-1].state)
            events.append(ReplayEvent(direction, i, states))
        i = max(j, i + 1)
    return events


def count_events(events: list[ReplayEvent]) -> dict[str, int]:
    """{"forward": n, "reverse": m}."""
    return {d: sum(e.direction == d for e in events) for d in ("forward", "reverse")}
