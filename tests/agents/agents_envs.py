"""Small environments for the tests of brc_rl.agents (not a test module)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class RecallEnv(gym.Env):
    """Remember a bit over a delay, then report it.

    ## Description
    Step 0 shows a random bit b as a signal of +1 or -1; the next ``delay`` steps show
    nothing; the last step shows a query flag, and the action taken there is scored.
    A memoryless policy can only guess: its expected return is 0.5; with memory it is 1.

    ## Observation Space
    ``Box(-1, 1, (2,))``: [signal, query].

    ## Action Space
    ``Discrete(2)``: the reported bit (only the query step's action counts).

    ## Rewards
    1 at the query step if the action equals b, else 0.

    ## Episode End
    Terminated after the query step: ``delay + 2`` steps.

    ## Arguments
    delay: blank steps, an int or an inclusive (low, high) range drawn at every reset.
    """

    metadata: dict = {"render_modes": []}

    def __init__(self, delay: int | tuple[int, int] = 4) -> None:
        self.delay_range = (delay, delay) if isinstance(delay, int) else tuple(delay)
        self.observation_space = spaces.Box(-1.0, 1.0, (2,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)

    def _obs(self) -> np.ndarray:
        if self._t == 0:
            return np.array([2.0 * self._bit - 1.0, 0.0], dtype=np.float32)
        return np.array([0.0, float(self._t == self._delay + 1)], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._bit = int(self.np_random.integers(2))
        self._delay = int(self.np_random.integers(self.delay_range[0], self.delay_range[1] + 1))
        self._t = 0
        return self._obs(), {}

    def step(self, action):
        query = self._t == self._delay + 1
        reward = float(query and int(action) == self._bit)
        self._t += 1
        info = {"is_success": reward > 0} if query else {}
        return self._obs(), reward, query, False, info


class NoiseEnv(gym.Env):
    """Gaussian observations, episodes of random length (1 to ``max_len`` steps), reward 0.

    Wrapped in ``TimeLimit(max_episode_steps)`` by :func:`make_noise_env`, so some episodes
    terminate and others are truncated: every state carries information, so a missed or a
    spurious reset changes the policy's outputs. Actions: ``Discrete(3)``, or ``Box(-1, 1, (2,))``
    with ``box_actions``.
    """

    metadata: dict = {"render_modes": []}

    def __init__(self, max_len: int = 7, obs_dim: int = 3, box_actions: bool = False) -> None:
        self.max_len = max_len
        self.observation_space = spaces.Box(-np.inf, np.inf, (obs_dim,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32) if box_actions else spaces.Discrete(3)

    def _obs(self) -> np.ndarray:
        return self.np_random.standard_normal(self.observation_space.shape).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._left = int(self.np_random.integers(1, self.max_len + 1))
        return self._obs(), {}

    def step(self, action):
        self._left -= 1
        return self._obs(), 0.0, self._left == 0, False, {}


def make_noise_env(max_len: int = 7, max_episode_steps: int = 5, box_actions: bool = False) -> gym.Env:
    return gym.wrappers.TimeLimit(NoiseEnv(max_len, box_actions=box_actions), max_episode_steps=max_episode_steps)


class ImageObs(gym.ObservationWrapper):
    """Shows a vector observation as a (36, 36, 1) uint8 image (NatureCNN's smallest input):
    entry i in [-1, 1] fills the band of rows 9i .. 9i + 8."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.observation_space = spaces.Box(0, 255, (36, 36, 1), dtype=np.uint8)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        image = np.zeros((36, 36, 1), dtype=np.uint8)
        for i, value in enumerate(observation[:4]):
            image[9 * i : 9 * i + 9] = np.uint8(127.5 * (float(value) + 1.0))
        return image


class DictObs(gym.ObservationWrapper):
    """Splits RecallEnv's [signal, query] into a Dict {"signal": Box(1), "query": Discrete(2)}."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.observation_space = spaces.Dict(
            {"signal": spaces.Box(-1.0, 1.0, (1,), dtype=np.float32), "query": spaces.Discrete(2)}
        )

    def observation(self, observation: np.ndarray) -> dict:
        return {"signal": observation[:1].copy(), "query": int(observation[1] > 0.5)}
