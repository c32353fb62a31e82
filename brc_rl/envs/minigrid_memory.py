"""MiniGrid's memory maze with a small egocentric view and the symbolic grid only."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from minigrid.core.constants import COLOR_TO_IDX, OBJECT_TO_IDX, STATE_TO_IDX
from minigrid.envs.memory import MemoryEnv

from brc_rl.envs._checks import check_int, check_render_mode

#: Largest code of each channel of MiniGrid's symbolic grid: (object, colour, state).
CODE_MAX: tuple[int, int, int] = (
    max(OBJECT_TO_IDX.values()),
    max(COLOR_TO_IDX.values()),
    max(STATE_TO_IDX.values()),
)

#: Valid ``n_actions``: MiniGrid's 7 actions, or turn left, turn right and forward.
N_ACTIONS: tuple[int, int] = (3, 7)


def check_memory_args(size: object, agent_view_size: object) -> tuple[int, int]:
    """Validate the maze size and view size.

    Returns:
        ``(size, agent_view_size)``.

    Raises:
        ValueError: if ``size`` is not an odd integer >= 7 or ``agent_view_size``
            is not an odd integer >= 3.
    """
    size = check_int("size", size, 7)
    view = check_int("agent_view_size", agent_view_size, 3)
    if size % 2 == 0:
        raise ValueError(f"size must be an odd integer >= 7, got {size}")
    if view % 2 == 0:
        raise ValueError(f"agent_view_size must be an odd integer >= 3, got {view}")
    return size, view


class MiniGridMemoryEnv(MemoryEnv):
    """MiniGrid's memory maze observed through a small egocentric view.

    ## Description

    ``minigrid.envs.MemoryEnv``: a green key or ball is shown in the start room;
    at the end of a hallway the agent must step next to the matching one of two
    objects. With MiniGrid's 7x7 view the cue stays in sight for long stretches;
    the default 3x3 view (``agent_view_size=3``) hides it before the decision, so
    the task needs memory.

    ## Action Space

    ``Discrete(7)`` as in MiniGrid; only 0 (turn left), 1 (turn right) and
    2 (forward) are useful (3, pickup, acts as toggle). ``n_actions=3`` keeps those
    three: ``Discrete(3)``.

    ## Observation Space

    The symbolic egocentric grid alone (as ``minigrid.wrappers.ImgObsWrapper``):
    ``Box(0, CODE_MAX, (v, v, 3), uint8)`` with v = ``agent_view_size``, channels
    (object, colour, state) codes; ``obs[i, j]`` is the cell i columns from the
    view's left edge and j rows from its far edge, so the agent is at
    ``obs[v // 2, v - 1]`` looking towards j = 0. The bounds are the codes' true ranges
    (object <= 10, colour <= 5, state <= 2), not [0, 255]: stable-baselines3 then
    does not take the codes for pixels, so it neither divides them by 255 nor
    transposes them, whatever ``normalize_images`` says. Use
    ``brc_rl.agents.MiniGridCNN`` as features extractor.

    ## Rewards

    ``1 - 0.9 * step_count / max_steps`` for reaching the matching object, 0 otherwise.

    ## Starting State

    Facing right on the hallway's row, anywhere from the start room to the end of
    the hallway; the cue (key or ball) and the order of the two end objects are
    drawn at random; with ``random_length`` so is the hallway's length. With
    ``cue_start_prob`` p > 0 (a training curriculum), the start is moved to the start
    room's first column, where the cue is in view at once, with probability p: that
    column is drawn with probability p + (1 - p) / n over the n start columns.

    ## Episode End

    Terminated next to either end object; truncated after ``max_steps`` steps,
    ``5 * size**2`` unless given (MiniGrid's own limit: S7 245, S9 405, S13 845).

    ## Info

    ``info["is_success"]``: True once the matching object has been reached.

    ## Arguments

    ```python
    gymnasium.make("brc_rl/MiniGridMemory-v0", size=9, random_length=False, agent_view_size=3,
                   n_actions=7, cue_start_prob=0.0)
    ```

    Args:
        size: side of the square grid, an odd integer >= 7.
        random_length: draw the hallway's length at each reset.
        agent_view_size: side of the egocentric view, an odd integer >= 3.
        max_steps: step limit; ``5 * size**2`` if None.
        n_actions: 7 (MiniGrid's actions) or 3 (turn left, turn right, forward).
        cue_start_prob: probability in [0, 1] of starting in the cue's column (above);
            0 is MiniGrid's task. Train with it, evaluate without (``env.eval_kwargs``); anneal
            it to 0 over training with ``env.schedules: {cue_start_prob: lin_1.0}``.
        render_mode: None, "human" or "rgb_array" (MiniGrid's renderer).

    Raises:
        ValueError: on an invalid argument, naming the valid values.
    """

    def __init__(
        self,
        size: int = 9,
        random_length: bool = False,
        agent_view_size: int = 3,
        max_steps: int | None = None,
        n_actions: int = 7,
        cue_start_prob: float = 0.0,
        render_mode: str | None = None,
    ) -> None:
        size, view = check_memory_args(size, agent_view_size)
        if not isinstance(random_length, bool):
            raise ValueError(f"random_length must be a bool, got {random_length!r}")
        if max_steps is not None:
            max_steps = check_int("max_steps", max_steps, 1)
        if isinstance(n_actions, bool) or n_actions not in N_ACTIONS:
            raise ValueError(f"n_actions must be one of {N_ACTIONS}, got {n_actions!r}")
        self.cue_start_prob = cue_start_prob
        check_render_mode("MiniGridMemoryEnv", render_mode, self.metadata["render_modes"])
        super().__init__(
            size=size,
            random_length=random_length,
            max_steps=max_steps,
            agent_view_size=view,
            render_mode=render_mode,
        )
        high = np.broadcast_to(np.array(CODE_MAX, dtype=np.uint8), (view, view, 3))
        self.observation_space = spaces.Box(0, high.copy(), dtype=np.uint8)
        self.action_space = spaces.Discrete(int(n_actions))

    @property
    def cue_start_prob(self) -> float:
        """Probability of starting in the cue's column; may be changed between episodes
        (a curriculum: ``env.schedules`` in a config); validated as in the constructor."""
        return self._cue_start_prob

    @cue_start_prob.setter
    def cue_start_prob(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f"cue_start_prob must be a number in [0, 1], got {value!r}")
        self._cue_start_prob = float(value)

    def _gen_grid(self, width: int, height: int) -> None:
        super()._gen_grid(width, height)
        if self.cue_start_prob > 0 and self.np_random.random() < self.cue_start_prob:
            self.agent_pos = np.array((1, height // 2))  # the cue is at (1, height // 2 - 1)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = super().reset(seed=seed, options=options)
        return obs["image"], {**info, "is_success": False}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        success = bool(terminated and tuple(self.agent_pos) == self.success_pos)
        return obs["image"], float(reward), terminated, truncated, {**info, "is_success": success}
