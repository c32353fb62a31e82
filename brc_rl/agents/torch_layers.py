"""A small CNN features extractor for MiniGrid's symbolic egocentric grid."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn


class MiniGridCNN(BaseFeaturesExtractor):
    """2x2 convolutions then a linear layer, for (v, v, 3) MiniGrid symbolic grids.

    As in MiniGrid's stable-baselines3 training docs: ``Conv2d(3, 16, 2)``, ReLU,
    ``Conv2d(16, 32, 2)``, ReLU, ``Conv2d(32, 64, 2)``, ReLU, flatten,
    ``Linear(., features_dim)``, ReLU. Each convolution shrinks the side by one,
    so only the first ``min(len(channels), v - 1)`` convolutions are used: a 7x7
    view gives 64 x 4 x 4 before the linear layer, a 3x3 view 32 x 1 x 1.

    The codes are fed as they are (object 0-10, colour 0-5, state 0-2), never
    divided by 255. ``brc_rl/MiniGridMemory-v0`` declares those true bounds, so
    stable-baselines3 does not take its observations for pixels and leaves them
    alone. With a plain ``minigrid.wrappers.ImgObsWrapper`` env (bounds 0-255)
    pass ``normalize_images=False`` in ``policy_kwargs``, or SB3 divides the codes
    by 255.

    Layout: an observation space whose last axis has 3 entries is read as
    (v, v, 3) (this includes (3, 3, 3), which SB3 never transposes); one of shape
    (3, v, v) as channels-first, which is what SB3's ``VecTransposeImage`` makes
    of a 0-255 (v, v, 3) space with v > 3.

    With ``one_hot=True`` each code is first expanded to a one-hot vector (11 object,
    6 colour and 3 state channels: ``brc_rl.envs.minigrid_memory.CODE_MAX`` + 1 each),
    so objects of neighbouring codes (a key is 5, a ball 6) are as far apart as any
    two: 20 input channels instead of 3. A code above its channel's ``CODE_MAX``
    raises ``ValueError``.

    A ``Dict`` observation space (``brc_rl.envs.wrappers.PrevActionReward`` with
    ``mode="dict"``) is read as the grid under ``"obs"`` plus flat extras (the
    previous action and reward): the extras, flattened, join the convolutions'
    output before the linear layer.

    Args:
        observation_space: ``Box`` of shape (v, v, 3) or (3, v, v), v >= 2, or a
            ``Dict`` of such a Box under ``"obs"`` and 1-d Boxes under other keys.
        features_dim: size of the output features.
        channels: output channels of the successive 2x2 convolutions.
        one_hot: one-hot encode the codes before the convolutions.

    Inputs:
        observations: (N, v, v, 3) or (N, 3, v, v), any real dtype; or a dict of
            such a tensor under ``"obs"`` and (N, n_k) tensors.

    Outputs:
        features: (N, features_dim).

    Raises:
        ValueError: if the space is not a 3-d Box with 3 channels first or last on a
            square grid of side >= 2, or ``channels`` is empty.

    Example:
        >>> import gymnasium as gym
        >>> from stable_baselines3 import PPO
        >>> from brc_rl.agents import MiniGridCNN
        >>> env = gym.make("brc_rl/MiniGridMemory-v0", size=9, agent_view_size=3)
        >>> model = PPO("CnnPolicy", env, policy_kwargs=dict(
        ...     features_extractor_class=MiniGridCNN,
        ...     features_extractor_kwargs=dict(features_dim=128)))
    """

    def __init__(
        self,
        observation_space: spaces.Box | spaces.Dict,
        features_dim: int = 128,
        channels: Sequence[int] = (16, 32, 64),
        one_hot: bool = False,
    ) -> None:
        grid_space, self.extra_keys, n_extra = observation_space, [], 0
        if isinstance(observation_space, spaces.Dict):
            subspaces = dict(observation_space.spaces)
            if "obs" not in subspaces:
                raise ValueError(f"a Dict observation space needs the grid under 'obs', got keys {list(subspaces)}")
            grid_space = subspaces.pop("obs")
            for key, space in subspaces.items():
                if not isinstance(space, spaces.Box) or len(space.shape) != 1:
                    raise ValueError(f"Dict key {key!r} must be a 1-d Box, got {space}")
                self.extra_keys.append(key)
                n_extra += space.shape[0]
        shape = tuple(getattr(grid_space, "shape", ()) or ())
        if not isinstance(grid_space, spaces.Box) or len(shape) != 3:
            raise ValueError(f"expected a 3-d Box observation space, got {grid_space}")
        self.channels_last = shape[-1] == 3
        side = shape[:2] if self.channels_last else shape[1:]
        if (not self.channels_last and shape[0] != 3) or side[0] != side[1] or side[0] < 2:
            raise ValueError(
                f"expected a (v, v, 3) or (3, v, v) observation space with v >= 2, got shape {shape}"
            )
        if len(channels) == 0:
            raise ValueError("channels must name at least one convolution, got ()")
        super().__init__(observation_space, features_dim)
        # The codes' bounds come with minigrid, imported only when needed.
        from brc_rl.envs.minigrid_memory import CODE_MAX

        self.code_max = CODE_MAX if one_hot else None
        layers: list[nn.Module] = []
        n_in = in_channels = sum(m + 1 for m in CODE_MAX) if one_hot else 3
        for n_out in list(channels)[: side[0] - 1]:
            layers += [nn.Conv2d(n_in, n_out, kernel_size=2), nn.ReLU()]
            n_in = n_out
        self.cnn = nn.Sequential(*layers, nn.Flatten())
        with torch.no_grad():
            n_flat = self.cnn(torch.zeros(1, in_channels, side[0], side[1])).shape[1]
        self.linear = nn.Sequential(nn.Linear(n_flat + n_extra, features_dim), nn.ReLU())

    def forward(self, observations: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
        grid = observations["obs"] if isinstance(observations, dict) else observations
        x = grid if self.channels_last else grid.permute(0, 2, 3, 1)
        if self.code_max is not None:
            x = self._one_hot(x)
        flat = self.cnn(x.float().permute(0, 3, 1, 2))
        if self.extra_keys:
            flat = torch.cat([flat, *(observations[k].float().flatten(1) for k in self.extra_keys)], dim=1)
        return self.linear(flat)

    def _one_hot(self, codes: torch.Tensor) -> torch.Tensor:
        """(N, v, v, 3) codes -> (N, v, v, 20) concatenated one-hot vectors."""
        codes = codes.long()
        high = torch.tensor(self.code_max, device=codes.device)
        if (codes < 0).any() or (codes > high).any():
            raise ValueError(f"MiniGrid codes must lie in [0, {self.code_max}] per channel")
        return torch.cat(
            [nn.functional.one_hot(codes[..., k], m + 1) for k, m in enumerate(self.code_max)], dim=-1
        )
