"""1-D moving target (Vecoven et al. 2020, benchmark 1): guess a target whose offset is hidden."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from brc_rl.envs._checks import check_positive, check_probability, check_render_mode

HIT_REWARD = 10.0
#: Steps of an episode (the authors'); ``gym.make(..., max_episode_steps=n)`` changes it.
MAX_EPISODE_STEPS = 1400
#: Width and height in pixels of ``MovingTargetEnv.render()``'s image.
RENDER_WIDTH, RENDER_HEIGHT = 160, 24


class MovingTargetEnv(gym.Env[np.ndarray, np.ndarray]):
    """Guess the target ``position + offset``; the offset is drawn at reset and never shown.

    ## Description

    Benchmark 1 of Vecoven, Ernst, Wehenkel and Drion, "Introducing neuromodulation in deep
    neural networks to learn adaptive behaviours" (PLoS One 2020), as in the authors' code.
    The agent sees a position p on a line and answers with a guess; the target is
    p + offset, with an offset drawn anew each episode. Only the reward tells how far the
    guess was, so the agent must infer the offset within the episode from its past
    guesses and rewards (wrap the env in ``brc_rl.envs.wrappers.PrevActionReward`` to feed
    them back, as the authors did). A policy that sees only p can do no better than
    guessing p + c for a constant c: with the default offsets, -3.95 per step on average.

    ## Action Space

    ``Box(-1, 1, (1,), float32)``: the guess is ``b * action``, b = ``action_bound`` (the
    authors scale a raw Gaussian action by 5 and clip the guess to [-20, 20]; their
    exploration noise, a standard deviation of about 3 in guess units, is a log-std of
    about -1.9 here).

    ## Observation Space

    ``Box(-position_range, position_range, (1,), float32)``: the position p.

    ## Rewards

    ``HIT_REWARD`` (10) if ``|target - guess| < margin``, else ``-min(|target - guess|, b)``.

    ## Starting State

    p ~ U[-position_range, position_range], offset ~ U[-offset_range, offset_range].
    After a hit p is redrawn (and, with probability ``offset_change_prob``, the offset);
    otherwise p stays.

    ## Episode End

    No termination; truncated after ``MAX_EPISODE_STEPS`` (1400, the authors') steps, set
    by ``register`` (``gym.make(..., max_episode_steps=n)`` changes it).

    ## Info

    ``info["offset"]``: the hidden offset; ``info["hit"]``: whether the last guess hit.

    ## Arguments

    ```python
    gymnasium.make("brc_rl/MovingTarget-v0", offset_range=10.0, position_range=5.0, margin=1.0,
                   action_bound=20.0, offset_change_prob=0.0)
    ```

    Args:
        offset_range: half-width of the offset's uniform range (> 0).
        position_range: half-width of the position's uniform range (> 0).
        margin: a guess closer to the target than this hits (> 0).
        action_bound: the guess's bound b (> 0): guess = b * action; also the largest penalty.
        offset_change_prob: probability that a hit redraws the offset (the authors'
            ``intra_variation_frequency``, 0 in the paper's benchmark).
        render_mode: None or "rgb_array": ``render()`` returns a (``RENDER_HEIGHT``,
            ``RENDER_WIDTH``, 3) uint8 image of the line [-b, b].

    Raises:
        ValueError: on an invalid argument, naming the valid values.
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        offset_range: float = 10.0,
        position_range: float = 5.0,
        margin: float = 1.0,
        action_bound: float = 20.0,
        offset_change_prob: float = 0.0,
        render_mode: str | None = None,
    ) -> None:
        self.offset_range = check_positive("offset_range", offset_range)
        self.position_range = check_positive("position_range", position_range)
        self.margin = check_positive("margin", margin)
        self.action_bound = check_positive("action_bound", action_bound)
        self.offset_change_prob = check_probability("offset_change_prob", offset_change_prob)
        self.render_mode = check_render_mode("MovingTargetEnv", render_mode, self.metadata["render_modes"])
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.observation_space = spaces.Box(-self.position_range, self.position_range, (1,), np.float32)
        self.position = 0.0
        self.offset = 0.0
        self._last_guess: float | None = None

    def _draw_position(self) -> float:
        return float(self.np_random.uniform(-self.position_range, self.position_range))

    def _draw_offset(self) -> float:
        return float(self.np_random.uniform(-self.offset_range, self.offset_range))

    def _obs(self) -> np.ndarray:
        return np.array([self.position], np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.position = self._draw_position()
        self.offset = self._draw_offset()
        self._last_guess = None
        return self._obs(), {"offset": self.offset, "hit": False}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        guess = self.action_bound * float(np.clip(np.asarray(action, np.float64).reshape(-1)[0], -1.0, 1.0))
        error = abs(self.position + self.offset - guess)
        hit = error < self.margin
        self._last_guess = guess
        if hit:
            reward = HIT_REWARD
            self.position = self._draw_position()
            if self.offset_change_prob > 0.0 and self.np_random.random() < self.offset_change_prob:
                self.offset = self._draw_offset()
        else:
            reward = -min(error, self.action_bound)
        return self._obs(), reward, False, False, {"offset": self.offset, "hit": hit}

    def render(self) -> np.ndarray | None:
        """The line as an RGB image if ``render_mode == "rgb_array"``, else None.

        Returns:
            (``RENDER_HEIGHT``, ``RENDER_WIDTH``, 3) uint8 over [-b, b], white: the hit zone
            around the target light green, the target green, the position blue (top half),
            the last guess red (bottom half).
        """
        if self.render_mode != "rgb_array":
            return None
        image = np.full((RENDER_HEIGHT, RENDER_WIDTH, 3), 255, np.uint8)

        def column(x: float) -> int:
            return int(np.clip((x + self.action_bound) / (2 * self.action_bound) * RENDER_WIDTH, 0, RENDER_WIDTH - 1))

        target = self.position + self.offset
        image[:, column(target - self.margin) : column(target + self.margin) + 1] = (190, 240, 190)
        image[:, column(target)] = (0, 160, 0)
        image[: RENDER_HEIGHT // 2, column(self.position)] = (0, 0, 255)
        if self._last_guess is not None:
            image[RENDER_HEIGHT // 2 :, column(self._last_guess)] = (220, 0, 0)
        return image
