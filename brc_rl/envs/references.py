"""2-D navigation to references (Vecoven et al. 2020, benchmarks 2 and 3): windy and multiple references."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from brc_rl.envs._checks import check_int, check_positive, check_real, check_render_mode

#: The plane is the torus [-ARENA, ARENA]^2: leaving one side enters the opposite one.
ARENA = 2.0
#: References are drawn in [-REFERENCE_RANGE, REFERENCE_RANGE]^2, starts in [-START_RANGE, START_RANGE]^2
#: at more than 1.5 zone radii from every reference.
REFERENCE_RANGE, START_RANGE = 1.0, 1.5
#: Distance the agent moves per step (the authors' 2.5 x 0.1); the wind moves it wind_power times that.
SPEED = 0.25
#: Steps of an episode (the authors'); ``gym.make(..., max_episode_steps=n)`` changes it.
WINDY_MAX_STEPS, MULTIPLE_MAX_STEPS = 4000, 5000
#: Side in pixels of ``render()``'s image of the plane.
RENDER_SIZE = 128


class _ReferenceNavigationEnv(gym.Env[np.ndarray, np.ndarray]):
    """The plane, the moves, the zones and the image shared by the two tasks.

    Subclasses set ``self.references`` (R, 2) and ``self.order`` at reset (:meth:`_draw_task`)
    and define :meth:`_zone_reward` and :meth:`_drift`; every step outside a zone pays ``step_reward``.
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, n_references: int, zone_radius: float, step_reward: float, render_mode: str | None) -> None:
        self.zone_radius = check_positive("zone_radius", zone_radius)
        self.step_reward = check_real("step_reward", step_reward)
        self.render_mode = check_render_mode(type(self).__name__, render_mode, self.metadata["render_modes"])
        high = REFERENCE_RANGE + ARENA
        self.observation_space = spaces.Box(-high, high, (2 * n_references,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.references = np.zeros((n_references, 2))
        self.order = np.arange(n_references)
        self.position = np.zeros(2)
        self._heading: float | None = None

    # ------------------------------------------------------------------ task hooks
    def _draw_task(self) -> None:
        raise NotImplementedError

    def _zone_reward(self, reference: int) -> float:
        """Reward for being in the zone of internal reference ``reference`` (which is counted)."""
        raise NotImplementedError

    def _drift(self) -> np.ndarray:
        """Displacement added to the agent's own move this step."""
        return np.zeros(2)

    def _info(self) -> dict[str, Any]:
        return {}

    def _colour(self, reference: int) -> tuple[int, int, int]:
        return (0, 170, 0)

    # ------------------------------------------------------------------ dynamics
    def _draw_start(self) -> np.ndarray:
        for _ in range(10_000):
            start = self.np_random.uniform(-START_RANGE, START_RANGE, 2)
            if np.linalg.norm(self.references - start, axis=1).min() > 1.5 * self.zone_radius:
                return start
        raise RuntimeError("found no start position away from the references; use a smaller zone_radius")

    def _obs(self) -> np.ndarray:
        return (self.references[self.order] - self.position).ravel().astype(np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._draw_task()
        self.position = self._draw_start()
        self._heading = None
        return self._obs(), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        distances = np.linalg.norm(self.references - self.position, axis=1)
        nearest = int(np.argmin(distances))
        if distances[nearest] <= self.zone_radius:  # in a zone: rewarded and moved to a new start
            reward = self._zone_reward(nearest)
            self.position = self._draw_start()
        else:
            reward = self.step_reward
            self._heading = float(np.pi * np.clip(np.asarray(action, np.float64).reshape(-1)[0], -1.0, 1.0))
            move = SPEED * np.array([np.cos(self._heading), np.sin(self._heading)]) + self._drift()
            self.position = (self.position + move + ARENA) % (2 * ARENA) - ARENA
        return self._obs(), reward, False, False, self._info()

    # ------------------------------------------------------------------ image
    def render(self) -> np.ndarray | None:
        """The plane as an RGB image if ``render_mode == "rgb_array"`` (after ``reset``), else None.

        Returns:
            (``RENDER_SIZE``, ``RENDER_SIZE``, 3) uint8 of [-2, 2]^2, y up, white: each
            reference's zone a disc (green good, red bad), the agent a blue dot with its last
            heading in black.
        """
        if self.render_mode != "rgb_array":
            return None
        scale = RENDER_SIZE / (2 * ARENA)
        centres = (np.arange(RENDER_SIZE) + 0.5) / scale - ARENA
        x, y = np.meshgrid(centres, centres[::-1])
        image = np.full((RENDER_SIZE, RENDER_SIZE, 3), 255, np.uint8)
        for k, (rx, ry) in enumerate(self.references):
            image[np.hypot(x - rx, y - ry) <= self.zone_radius] = self._colour(k)
        if self._heading is not None:
            for t in np.linspace(0.0, 0.3, 16):
                line = np.hypot(x - self.position[0] - t * np.cos(self._heading),
                                y - self.position[1] - t * np.sin(self._heading)) <= 1 / scale
                image[line] = (0, 0, 0)
        image[np.hypot(x - self.position[0], y - self.position[1]) <= 3 / scale] = (0, 0, 255)
        return image


class WindyReferenceEnv(_ReferenceNavigationEnv):
    """Reach a reference through a wind whose direction is drawn each episode and never shown.

    ## Description

    Benchmark 2 of Vecoven et al. (PLoS One 2020), as in the authors' code. The agent moves
    on the torus [-2, 2]^2 by ``SPEED`` (0.25) per step in the heading it chooses; a wind
    pushes it by ``wind_power * SPEED`` in the episode's wind direction plus a uniform
    deviation of at most ``wind_half_cone``. It sees where the reference is, not the wind:
    it must infer the wind from how its moves turn out and aim to compensate. With
    ``wind_power`` 1 the wind is as fast as the agent: going upwind is nearly impossible,
    so the agent must find its way round (the plane wraps).

    ## Action Space

    ``Box(-1, 1, (1,), float32)``: the heading, ``pi * action`` radians (0 = +x).

    ## Observation Space

    ``Box(-3, 3, (2,), float32)``: reference - position.

    ## Rewards

    Each step, from the position before the move: ``goal_reward`` (100) if the agent is
    within ``zone_radius`` (0.4) of the reference, and it is then moved to a new start
    (its action is not applied); else ``step_reward`` (-2) and the move.

    ## Starting State

    Reference ~ U[-1, 1]^2 (fixed for the episode); wind direction ~ U[0, 2 pi); start
    ~ U[-1.5, 1.5]^2 at more than 1.5 zone radii from the reference (and so after each
    reach).

    ## Episode End

    No termination; truncated after ``WINDY_MAX_STEPS`` (4000, the authors') steps, set by
    ``register`` (``gym.make(..., max_episode_steps=n)`` changes it).

    ## Info

    ``info["wind_direction"]``: the episode's wind direction (radians);
    ``info["reached"]``: reaches so far this episode.

    ## Arguments

    ```python
    gymnasium.make("brc_rl/WindyReference-v0", wind_power=1.0, wind_half_cone=np.pi / 5,
                   zone_radius=0.4, goal_reward=100.0, step_reward=-2.0)
    ```

    Args:
        wind_power: wind speed in units of ``SPEED`` (>= 0; 0: no wind).
        wind_half_cone: largest deviation of the wind from its direction, radians (>= 0).
        zone_radius: radius of the reference's zone (> 0).
        goal_reward: reward in the zone.
        step_reward: reward of every other step.
        render_mode: None or "rgb_array" (see ``render``).

    Raises:
        ValueError: on an invalid argument, naming the valid values.
    """

    def __init__(
        self,
        wind_power: float = 1.0,
        wind_half_cone: float = np.pi / 5,
        zone_radius: float = 0.4,
        goal_reward: float = 100.0,
        step_reward: float = -2.0,
        render_mode: str | None = None,
    ) -> None:
        self.wind_power = check_real("wind_power", wind_power)
        self.wind_half_cone = check_real("wind_half_cone", wind_half_cone)
        if self.wind_power < 0 or self.wind_half_cone < 0:
            raise ValueError(f"wind_power and wind_half_cone must be >= 0, got {wind_power!r}, {wind_half_cone!r}")
        self.goal_reward = check_real("goal_reward", goal_reward)
        super().__init__(1, zone_radius, step_reward, render_mode)
        self.wind_direction = 0.0
        self.reached = 0

    def _draw_task(self) -> None:
        self.references = self.np_random.uniform(-REFERENCE_RANGE, REFERENCE_RANGE, (1, 2))
        self.wind_direction = float(self.np_random.uniform(0.0, 2 * np.pi))
        self.reached = 0

    def _zone_reward(self, reference: int) -> float:
        self.reached += 1
        return self.goal_reward

    def _drift(self) -> np.ndarray:
        angle = self.wind_direction + self.np_random.uniform(-self.wind_half_cone, self.wind_half_cone)
        return self.wind_power * SPEED * np.array([np.cos(angle), np.sin(angle)])

    def _info(self) -> dict[str, Any]:
        return {"wind_direction": self.wind_direction, "reached": self.reached}


class MultipleReferencesEnv(_ReferenceNavigationEnv):
    """Find which of the references pays: they look alike, one is good, the others bad.

    ## Description

    Benchmark 3 of Vecoven et al. (PLoS One 2020), as in the authors' code. The agent moves
    on the torus [-2, 2]^2 by ``SPEED`` (0.25) per step in the heading it chooses. It sees
    where every reference is, in an order shuffled each episode, so only the rewards tell
    which is good: it must try one and, if it was bad, go to the other from then on.

    ## Action Space

    ``Box(-1, 1, (1,), float32)``: the heading, ``pi * action`` radians (0 = +x).

    ## Observation Space

    ``Box(-3, 3, (2 n,), float32)``, n = ``n_references``: reference_i - position, for the
    references in the episode's order.

    ## Rewards

    Each step, from the position before the move: in the zone (radius ``zone_radius``) of
    a good reference ``good_reward`` (100), of a bad one ``bad_reward`` (-50), and the
    agent is then moved to a new start (its action is not applied); else ``step_reward``
    (0) and the move.

    ## Starting State

    References ~ U[-1, 1]^2 each (fixed for the episode; the first ``n_good`` of them good,
    shown in a random order); start ~ U[-1.5, 1.5]^2 at more than 1.5 zone radii from every
    reference (and so after each reach).

    ## Episode End

    No termination; truncated after ``MULTIPLE_MAX_STEPS`` (5000, the authors') steps, set
    by ``register`` (``gym.make(..., max_episode_steps=n)`` changes it).

    ## Info

    ``info["good"]``, ``info["bad"]``: good and bad reaches so far this episode;
    ``info["good_slots"]``: the observation slots of the good references.

    ## Arguments

    ```python
    gymnasium.make("brc_rl/MultipleReferences-v0", n_references=2, n_good=1, zone_radius=0.4,
                   good_reward=100.0, bad_reward=-50.0, step_reward=0.0)
    ```

    Args:
        n_references: references n >= 2.
        n_good: good references, 1 <= n_good < n.
        zone_radius: radius of each zone (> 0).
        good_reward: reward in a good reference's zone.
        bad_reward: reward in a bad reference's zone.
        step_reward: reward of every other step.
        render_mode: None or "rgb_array" (see ``render``).

    Raises:
        ValueError: on an invalid argument, naming the valid values.
    """

    def __init__(
        self,
        n_references: int = 2,
        n_good: int = 1,
        zone_radius: float = 0.4,
        good_reward: float = 100.0,
        bad_reward: float = -50.0,
        step_reward: float = 0.0,
        render_mode: str | None = None,
    ) -> None:
        self.n_references = check_int("n_references", n_references, 2)
        self.n_good = check_int("n_good", n_good, 1)
        if self.n_good >= self.n_references:
            raise ValueError(f"n_good must be < n_references={self.n_references}, got {n_good}")
        self.good_reward = check_real("good_reward", good_reward)
        self.bad_reward = check_real("bad_reward", bad_reward)
        super().__init__(self.n_references, zone_radius, step_reward, render_mode)
        self.reaches = {"good": 0, "bad": 0}

    def _draw_task(self) -> None:
        self.references = self.np_random.uniform(-REFERENCE_RANGE, REFERENCE_RANGE, (self.n_references, 2))
        self.order = self.np_random.permutation(self.n_references)
        self.reaches = {"good": 0, "bad": 0}

    def _zone_reward(self, reference: int) -> float:
        good = reference < self.n_good
        self.reaches["good" if good else "bad"] += 1
        return self.good_reward if good else self.bad_reward

    def _info(self) -> dict[str, Any]:
        return {**self.reaches, "good_slots": np.flatnonzero(self.order < self.n_good)}

    def _colour(self, reference: int) -> tuple[int, int, int]:
        return (0, 170, 0) if reference < self.n_good else (220, 0, 0)
