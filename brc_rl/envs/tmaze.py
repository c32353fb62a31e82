"""Bakker's T-maze: a cue at the start of a corridor, a decision at its end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from brc_rl.envs._checks import check_int, check_probability, check_render_mode

# Actions.
RIGHT, UP, LEFT, DOWN = 0, 1, 2, 3
# Observation one-hot indices.
UP_CUE, DOWN_CUE, CORRIDOR, JUNCTION = 0, 1, 2, 3

GOAL_REWARD = 4.0
PENALTY = -0.1

#: Side in pixels of one cell in ``render()``'s image.
CELL_PIXELS = 8


def tmaze_horizon(corridor_length: int) -> int:
    """Step limit of a T-maze of corridor length L: ``3 * (L + 1)``.

    The shortest successful episode is L + 1 steps (L moves right, one turn), so
    the limit allows three times that.
    """
    return 3 * (check_int("corridor_length", corridor_length, 1) + 1)


class TMazeEnv(gym.Env[np.ndarray, np.int64]):
    """T-maze with a cue shown only in the first cell (Bakker 2002).

    ## Description

    The agent starts in cell 0 of a corridor of cells 0, 1, ..., L; cell L is the
    junction of a T, with one arm going up and one going down. The goal arm (up or
    down, drawn uniformly at each reset) is shown only in cell 0, so the agent must
    carry it for at least L steps. Used for bistable cells by Lambrechts, Bolland
    and Ernst (TMLR 2022); memory length L can be made arbitrarily large.

    ```
          [up arm]
    0 1 2 ... L
          [down arm]
    ```

    ## Action Space

    ``Discrete(4)``: 0 right, 1 up, 2 left, 3 down. With ``action_noise = eps``,
    the chosen action is replaced, with probability eps, by one drawn uniformly
    from the four (which may be the chosen one).

    ## Observation Space

    ``Box(0, 1, (4,), float32)``, one-hot: 0 up-cue, 1 down-cue (cell 0, showing
    the goal side; shown again if the agent walks back), 2 corridor (cells 1 to
    L - 1), 3 junction (cell L).

    ## Rewards

    +4 for entering the goal arm, -0.1 for entering the other arm, -0.1 for a bump
    into a wall (up or down in the corridor, left in cell 0, right at the
    junction: the agent stays where it is), 0 otherwise.

    ## Starting State

    Cell 0; the goal side is up or down with probability 1/2.

    ## Episode End

    Terminated on entering an arm (``info["is_success"]`` says whether it was the
    goal arm). Truncated after ``3 * (L + 1)`` steps, three times the shortest
    solution (``TMazeEnv.horizon``, ``tmaze_horizon(L)``).

    ## Info

    ``info["is_success"]``: True once the goal arm has been entered, else False
    (stable-baselines3 logs it as ``rollout/success_rate``).

    ## Arguments

    ```python
    gymnasium.make("brc_rl/TMaze-v0", corridor_length=10, action_noise=0.0)
    ```

    Args:
        corridor_length: L >= 1, the number of moves right from the cue to the junction.
        action_noise: probability in [0, 1] that a random action replaces the chosen one.
        render_mode: None (no rendering) or "rgb_array": ``render()`` returns an
            (3 s, (L + 1) s, 3) uint8 image of the maze, s = ``CELL_PIXELS``.

    Raises:
        ValueError: on an invalid argument, naming the valid values.
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self, corridor_length: int = 10, action_noise: float = 0.0, render_mode: str | None = None
    ) -> None:
        self.corridor_length = check_int("corridor_length", corridor_length, 1)
        self.action_noise = check_probability("action_noise", action_noise)
        self.render_mode = check_render_mode("TMazeEnv", render_mode, self.metadata["render_modes"])
        self.horizon = tmaze_horizon(self.corridor_length)
        self.action_space = spaces.Discrete(4)
        self.observation_space = spaces.Box(0.0, 1.0, (4,), np.float32)
        self.position = 0
        self.goal_up = True
        self._steps = 0

    def _obs(self) -> np.ndarray:
        if self.position == 0:
            index = UP_CUE if self.goal_up else DOWN_CUE
        elif self.position == self.corridor_length:
            index = JUNCTION
        else:
            index = CORRIDOR
        obs = np.zeros(4, dtype=np.float32)
        obs[index] = 1.0
        return obs

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.goal_up = bool(self.np_random.random() < 0.5)
        self.position = 0
        self._steps = 0
        return self._obs(), {"is_success": False}

    def _move(self, action: int) -> tuple[float, bool, bool]:
        """Apply ``action``; return (reward, terminated, success)."""
        at_junction = self.position == self.corridor_length
        if action in (UP, DOWN) and at_junction:
            success = (action == UP) == self.goal_up
            return (GOAL_REWARD if success else PENALTY), True, success
        if action == RIGHT and not at_junction:
            self.position += 1
            return 0.0, False, False
        if action == LEFT and self.position > 0:
            self.position -= 1
            return 0.0, False, False
        return PENALTY, False, False  # a wall bump

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"action must be an integer in [0, 4), got {action!r}")
        action = int(action)
        if self.action_noise > 0.0 and self.np_random.random() < self.action_noise:
            action = int(self.np_random.integers(4))
        reward, terminated, success = self._move(action)
        self._steps += 1
        truncated = not terminated and self._steps >= self.horizon
        return self._obs(), reward, terminated, truncated, {"is_success": success}

    def render(self) -> np.ndarray | None:
        """The maze as an RGB image if ``render_mode == "rgb_array"``, else None.

        Returns:
            (3 s, (L + 1) s, 3) uint8, s = ``CELL_PIXELS``: rows up arm, corridor,
            down arm; walls black, open cells white, the goal arm green, the cue
            cell blue, the agent red.
        """
        if self.render_mode != "rgb_array":
            return None
        grid = np.zeros((3, self.corridor_length + 1, 3), dtype=np.uint8)
        grid[1, :] = 255
        grid[0, -1] = grid[2, -1] = 255
        grid[0 if self.goal_up else 2, -1] = (0, 200, 0)
        grid[1, 0] = (80, 80, 255)
        grid[1, self.position] = (255, 0, 0)
        return np.kron(grid, np.ones((CELL_PIXELS, CELL_PIXELS, 1), dtype=np.uint8))


@dataclass
class ScriptedTMazeAgent:
    """A hand-written T-maze player with the recurrent ``predict`` API.

    It walks right and, at the junction, turns to the side it remembers; with
    ``remember_cue=False`` it always turns up (success rate 1/2). Its state is an
    (N,) array: +1 cue up, -1 cue down, 0 not seen.

    Args:
        remember_cue: keep the cue in the state (a perfect memory) or not (none).
    """

    remember_cue: bool = True

    def predict(
        self,
        observation: np.ndarray,
        state: np.ndarray | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        obs = np.atleast_2d(observation)
        memory = np.zeros(len(obs)) if state is None else np.asarray(state, dtype=np.float64).copy()
        if episode_start is not None:
            memory[np.asarray(episode_start, dtype=bool)] = 0.0
        if self.remember_cue:
            memory[obs[:, UP_CUE] == 1] = 1.0
            memory[obs[:, DOWN_CUE] == 1] = -1.0
        turn = np.where(memory < 0, DOWN, UP)
        actions = np.where(obs[:, JUNCTION] == 1, turn, RIGHT)
        return actions, memory
