"""Recurrent PPO and A2C on stable-baselines3 whose memory is any cell of brc_rl.nn.

>>> from brc_rl.agents import RecurrentPPO
>>> model = RecurrentPPO("MlpRecurrentPolicy", "CartPole-v1",
...                      policy_kwargs=dict(cell="nbrc", hidden_size=64))
"""

from brc_rl.agents.a2c import RecurrentA2C
from brc_rl.agents.base import RecurrentOnPolicyAlgorithm, valid_batch_sizes
from brc_rl.agents.buffers import RecurrentDictRolloutBuffer, RecurrentRolloutBuffer, RecurrentRolloutSamples
from brc_rl.agents.monitor import MemoryMonitor
from brc_rl.agents.nmd import ModulatedLinear, ModulatedMLP, NmdExtractor, NmdRecurrentPolicy
from brc_rl.agents.policies import (
    CnnRecurrentPolicy,
    MlpRecurrentPolicy,
    MultiInputRecurrentPolicy,
    RecurrentActorCriticCnnPolicy,
    RecurrentActorCriticPolicy,
    RecurrentMultiInputActorCriticPolicy,
    SequenceEvaluation,
)
from brc_rl.agents.ppo import RecurrentPPO
from brc_rl.agents.torch_layers import MiniGridCNN
from brc_rl.agents.warmup import policy_vaa, rollout_episodes, split_episodes, warmup_policy

ALGORITHMS: dict[str, type[RecurrentOnPolicyAlgorithm]] = {"ppo": RecurrentPPO, "a2c": RecurrentA2C}

__all__ = [
    "ALGORITHMS", "RecurrentPPO", "RecurrentA2C", "RecurrentOnPolicyAlgorithm", "valid_batch_sizes",
    "RecurrentActorCriticPolicy", "RecurrentActorCriticCnnPolicy", "RecurrentMultiInputActorCriticPolicy",
    "MlpRecurrentPolicy", "CnnRecurrentPolicy", "MultiInputRecurrentPolicy", "SequenceEvaluation",
    "RecurrentRolloutBuffer", "RecurrentDictRolloutBuffer", "RecurrentRolloutSamples", "MemoryMonitor",
    "MiniGridCNN", "policy_vaa", "rollout_episodes", "split_episodes", "warmup_policy",
    "NmdRecurrentPolicy", "NmdExtractor", "ModulatedLinear", "ModulatedMLP",
]
