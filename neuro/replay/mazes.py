"""Deterministic gridworlds of the replay study: Sutton & Barto's Dyna maze and Mattar & Daw's two tasks.

A maze is a grid of open cells and walls. The states are the open cells, numbered row by row; the four
actions move up, down, left and right, and a move into a wall or off the grid leaves the agent where it is.
Entering a goal cell pays its reward and ends the episode; the next episode starts at that goal's start cell
(`next_start`), which is how Mattar & Daw's linear track makes the agent run back and forth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ACTIONS", "Maze", "dyna_maze", "open_maze", "linear_track", "shortest_path_length", "MAZES"]

ACTIONS = ((-1, 0), (1, 0), (0, -1), (0, 1))  # up, down, left, right as (row, column) steps
Cell = tuple[int, int]
DYNA_WALLS = frozenset({(1, 2), (2, 2), (3, 2), (0, 7), (1, 7), (2, 7), (4, 5)})


@dataclass(frozen=True)
class Maze:
    """A gridworld: `height` × `width` cells, `walls`, `goals` {cell: reward}, `next_start` {goal: start}.

    Derived (in `__post_init__`): `cells` (the open cells, the states), `next_state` [S, A], `reward` [S, A],
    `terminal` [S, A] (the move enters a goal; a goal's own row stays put, since no move is made from it),
    `start_state` and `restart` [S] (for a goal state the state where the next episode starts, else the state).
    """

    name: str
    height: int
    width: int
    walls: frozenset[Cell]
    start: Cell
    goals: dict[Cell, float]
    next_start: dict[Cell, Cell]
    cells: tuple[Cell, ...] = field(init=False)
    next_state: np.ndarray = field(init=False, repr=False)
    reward: np.ndarray = field(init=False, repr=False)
    terminal: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        inside = {(r, c) for r in range(self.height) for c in range(self.width)}
        for what, cells in (("start", [self.start]), ("goal", list(self.goals)), ("wall", list(self.walls)),
                            ("next_start", list(self.next_start.values()))):
            bad = [c for c in cells if c not in inside or (what != "wall" and c in self.walls)]
            if bad:
                raise ValueError(f"{self.name}: {what} cells {bad} are not open cells "
                                 f"of a {self.height}x{self.width} grid")
        if set(self.next_start) != set(self.goals):
            raise ValueError(f"{self.name}: next_start must name a start for every goal {sorted(self.goals)}")
        cells = tuple(c for c in sorted(inside) if c not in self.walls)
        index = {c: i for i, c in enumerate(cells)}
        next_state = np.empty((len(cells), len(ACTIONS)), dtype=np.int64)
        for i, (r, c) in enumerate(cells):
            for a, (dr, dc) in enumerate(ACTIONS):
                target = (r + dr, c + dc)
                next_state[i, a] = index.get(target, i)
        goal_states = np.array([index[g] for g in self.goals], dtype=np.int64)
        goal_rewards = np.array(list(self.goals.values()), dtype=np.float64)
        next_state[goal_states] = goal_states[:, None]  # no move is made from a goal: the episode is over
        terminal = np.isin(next_state, goal_states)
        terminal[goal_states] = False
        reward = np.zeros(next_state.shape)
        for g, rew in zip(goal_states, goal_rewards, strict=True):
            reward[(next_state == g) & terminal] = rew
        object.__setattr__(self, "cells", cells)
        object.__setattr__(self, "next_state", next_state)
        object.__setattr__(self, "reward", reward)
        object.__setattr__(self, "terminal", terminal)

    @property
    def num_states(self) -> int:
        return len(self.cells)

    def state(self, cell: Cell) -> int:
        """The state index of an open `cell`."""
        return self.cells.index(cell)

    @property
    def start_state(self) -> int:
        return self.state(self.start)

    @property
    def restart(self) -> np.ndarray:
        """[S]: where the agent goes after each state; a goal sends it to its next start, others stay."""
        out = np.arange(self.num_states)
        for goal, start in self.next_start.items():
            out[self.state(goal)] = self.state(start)
        return out

    def step(self, state: int, action: int) -> tuple[int, float, bool]:
        """(next state, reward, whether the episode ended) of one move."""
        return (int(self.next_state[state, action]), float(self.reward[state, action]),
                bool(self.terminal[state, action]))

    def goal_states(self) -> list[int]:
        return [self.state(g) for g in self.goals]


def dyna_maze(reward: float = 1.0) -> Maze:
    """Sutton & Barto (2018) Fig. 8.2: 6 × 9, start S at row 2 column 0, goal G at the top right corner,
    walls in column 2 (rows 1-3), column 7 (rows 0-2) and at row 4 column 5. Shortest path: 14 moves."""
    return Maze("dyna_maze", 6, 9, DYNA_WALLS, (2, 0), {(0, 8): reward}, {(0, 8): (2, 0)})


def open_maze(reward: float = 1.0) -> Maze:
    """Mattar & Daw (2018) open field: the same 6 × 9 layout, start and goal as the Dyna maze (their
    `params.maze(2:4,3)`, `(1:3,8)`, `(5,6)` walls, start (3,1), goal (1,9), one-based), reward 1 at the goal."""
    return Maze("open_maze", 6, 9, DYNA_WALLS, (2, 0), {(0, 8): reward}, {(0, 8): (2, 0)})


def linear_track(length: int = 10, reward: float = 1.0) -> Maze:
    """Mattar & Daw's linear track as two one-way lanes of `length` cells (rows 0 and 2, row 1 walled): run
    rightwards along row 2 to the reward at its right end, restart at the right end of row 0, run leftwards to
    the reward at its left end, restart at the left end of row 2. A lane is one running direction, as place
    cells on a track fire differently in the two directions."""
    if length < 3:
        raise ValueError(f"linear_track length must be >= 3; got {length}")
    walls = frozenset((1, c) for c in range(length))
    right_goal, left_goal = (2, length - 1), (0, 0)
    return Maze("linear_track", 3, length, walls, (2, 0), {right_goal: reward, left_goal: reward},
                {right_goal: (0, length - 1), left_goal: (2, 0)})


MAZES = {"dyna_maze": dyna_maze, "open_maze": open_maze, "linear_track": linear_track}


def shortest_path_length(maze: Maze, start: int | None = None) -> int:
    """Fewest moves from `start` (default the maze's start) into a goal, by breadth-first search."""
    start = maze.start_state if start is None else start
    distance = {start: 0}
    frontier = [start]
    while frontier:
        nxt = []
        for s in frontier:
            for a in range(len(ACTIONS)):
                if maze.terminal[s, a]:
                    return distance[s] + 1
                s2 = int(maze.next_state[s, a])
                if s2 not in distance:
                    distance[s2] = distance[s] + 1
                    nxt.append(s2)
        frontier = nxt
    raise ValueError(f"{maze.name}: no goal reachable from state {start}")
