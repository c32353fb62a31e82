"""Observation wrappers for meta-RL and memory tasks."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

#: Valid ``mode`` values of :class:`PrevActionReward`.
MODES: tuple[str, str] = ("dict", "concat")


class PrevActionReward(gym.Wrapper):
    """Add the previous action and reward to each observation (RL^2, Wang et al. 2016).

    A recurrent policy that sees what it did and what it got can learn, in its memory,
    from its own actions: meta-RL needs it, and so does any task where the policy's
    sampled action changes what it should remember (a turn in a maze).

    ``prev_action`` is one-hot (``Discrete(n)``: n entries) or the action itself
    (``Box``: flattened, as float32); ``prev_reward`` is one float. Both are zeros in
    the observation returned by ``reset``.

    Modes:
        ``"dict"``: ``Dict({"obs": <the env's space>, "prev_action": Box(n_a),
        "prev_reward": Box(1)})`` (keys without the one switched off); use it with
        ``MultiInputRecurrentPolicy`` or an extractor that reads a Dict
        (``brc_rl.agents.MiniGridCNN`` does).
        ``"concat"``: ``Box(n_obs + n_a + 1)``, the flat observation followed by the
        previous action then the previous reward, float32; the env's observation
        space must be a 1-d ``Box``.

    Args:
        env: the environment; its action space must be ``Discrete`` or ``Box``.
        mode: ``"dict"`` or ``"concat"``.
        action: include the previous action.
        reward: include the previous reward.

    Raises:
        ValueError: on an unknown mode, an action space other than Discrete or Box,
            ``"concat"`` with an observation space other than a 1-d Box, or neither
            ``action`` nor ``reward``.

    Example:
        >>> import gymnasium as gym
        >>> import brc_rl.envs
        >>> from brc_rl.envs.wrappers import PrevActionReward
        >>> env = PrevActionReward(gym.make("CartPole-v1"), mode="concat")
        >>> env.observation_space.shape
        (7,)
    """

    def __init__(self, env: gym.Env, mode: str = "dict", action: bool = True, reward: bool = True) -> None:
        super().__init__(env)
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; valid values: {list(MODES)}")
        if not (action or reward):
            raise ValueError("PrevActionReward needs action=True or reward=True (both are False)")
        act_space = env.action_space
        if isinstance(act_space, spaces.Discrete):
            n_action = int(act_space.n)
        elif isinstance(act_space, spaces.Box):
            n_action = int(np.prod(act_space.shape))
        else:
            raise ValueError(f"PrevActionReward supports Discrete and Box actions, got {act_space}")
        obs_space = env.observation_space
        if mode == "concat" and not (isinstance(obs_space, spaces.Box) and len(obs_space.shape) == 1):
            raise ValueError(f"mode='concat' needs a 1-d Box observation space, got {obs_space}; use mode='dict'")
        self.mode, self.use_action, self.use_reward = mode, bool(action), bool(reward)
        self._n_action = n_action
        extras: dict[str, spaces.Box] = {}
        if action:
            low, high = (0.0, 1.0) if isinstance(act_space, spaces.Discrete) else (act_space.low, act_space.high)
            extras["prev_action"] = spaces.Box(
                np.broadcast_to(low, (n_action,)).astype(np.float32).reshape(-1),
                np.broadcast_to(high, (n_action,)).astype(np.float32).reshape(-1),
                dtype=np.float32,
            )
        if reward:
            extras["prev_reward"] = spaces.Box(-np.inf, np.inf, (1,), np.float32)
        if mode == "dict":
            self.observation_space = spaces.Dict({"obs": obs_space, **extras})
        else:
            parts = [obs_space, *extras.values()]
            self.observation_space = spaces.Box(
                np.concatenate([p.low.astype(np.float32) for p in parts]),
                np.concatenate([p.high.astype(np.float32) for p in parts]),
                dtype=np.float32,
            )

    def _extras(self, action: Any, reward: float) -> dict[str, np.ndarray]:
        extras: dict[str, np.ndarray] = {}
        if self.use_action:
            prev = np.zeros(self._n_action, dtype=np.float32)
            if action is not None:
                if isinstance(self.env.action_space, spaces.Discrete):
                    prev[int(action) - int(self.env.action_space.start)] = 1.0
                else:
                    prev[:] = np.asarray(action, dtype=np.float32).reshape(-1)
            extras["prev_action"] = prev
        if self.use_reward:
            extras["prev_reward"] = np.array([reward], dtype=np.float32)
        return extras

    def _observation(self, obs: Any, action: Any, reward: float) -> Any:
        extras = self._extras(action, reward)
        if self.mode == "dict":
            return {"obs": obs, **extras}
        return np.concatenate([np.asarray(obs, dtype=np.float32), *extras.values()])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        return self._observation(obs, None, 0.0), info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._observation(obs, action, float(reward)), reward, terminated, truncated, info
