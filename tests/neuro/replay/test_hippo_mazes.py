"""Maze transitions and walls: the Dyna maze of Sutton & Barto Fig. 8.2 and Mattar & Daw's linear track."""

from __future__ import annotations

import numpy as np
import pytest

from neuro.replay.mazes import Maze, dyna_maze, linear_track, open_maze, shortest_path_length

UP, DOWN, LEFT, RIGHT = range(4)


def test_dyna_maze_layout_and_shortest_path() -> None:
    maze = dyna_maze()
    assert (maze.height, maze.width, maze.num_states) == (6, 9, 54 - 7)
    assert shortest_path_length(maze) == 14  # the book's optimal path
    assert maze.cells[maze.start_state] == (2, 0)
    assert maze.goal_states() == [maze.state((0, 8))]
    same = open_maze()
    assert same.walls == maze.walls and same.start == maze.start and same.goals == maze.goals


def test_walls_and_edges_leave_the_agent_in_place() -> None:
    maze = dyna_maze()
    s = maze.state((2, 1))  # right of it the wall at (2, 2)
    assert maze.step(s, RIGHT) == (s, 0.0, False)
    assert maze.step(s, UP) == (maze.state((1, 1)), 0.0, False)
    corner = maze.state((5, 0))
    assert maze.step(corner, DOWN)[0] == corner and maze.step(corner, LEFT)[0] == corner
    below_wall = maze.state((5, 5))  # the wall at (4, 5) is above it
    assert maze.step(below_wall, UP)[0] == below_wall
    assert maze.state((3, 8)) == maze.step(maze.state((4, 8)), UP)[0]
    with pytest.raises(ValueError):
        maze.state((1, 2))  # a wall is not a state


def test_entering_the_goal_pays_and_ends() -> None:
    maze = dyna_maze(reward=2.0)
    goal = maze.state((0, 8))
    assert maze.step(maze.state((1, 8)), UP) == (goal, 2.0, True)
    assert maze.reward.sum() == 2.0 * 1  # one move enters the goal: up from (1, 8) ((0, 7) is a wall)
    assert maze.terminal.sum() == 1
    assert maze.restart[goal] == maze.start_state
    others = np.setdiff1d(np.arange(maze.num_states), [goal])
    np.testing.assert_array_equal(maze.restart[others], others)


def test_linear_track_runs_both_ways() -> None:
    track = linear_track(5)
    assert track.num_states == 10
    right_end, left_end = track.state((2, 4)), track.state((0, 0))
    assert track.step(track.state((2, 3)), RIGHT) == (right_end, 1.0, True)
    assert track.step(track.state((0, 1)), LEFT) == (left_end, 1.0, True)
    assert track.step(track.state((2, 2)), UP)[0] == track.state((2, 2))  # the walled middle row
    assert track.restart[right_end] == track.state((0, 4)) and track.restart[left_end] == track.start_state
    assert shortest_path_length(track) == 4


def test_bad_mazes_fail_naming_the_cells() -> None:
    with pytest.raises(ValueError, match=r"goal cells \[\(0, 5\)\]"):
        Maze("bad", 2, 2, frozenset(), (0, 0), {(0, 5): 1.0}, {(0, 5): (0, 0)})
    with pytest.raises(ValueError, match="start cells"):
        Maze("bad", 2, 2, frozenset({(0, 0)}), (0, 0), {(1, 1): 1.0}, {(1, 1): (1, 0)})
    with pytest.raises(ValueError, match="next_start must name a start for every goal"):
        Maze("bad", 2, 2, frozenset(), (0, 0), {(1, 1): 1.0}, {})
    with pytest.raises(ValueError, match="length must be >= 3"):
        linear_track(2)
