"""brc-rl: reinforcement-learning agents whose memory is made of bistable recurrent cells.

Subpackages:
    brc_rl.nn: BRC and nBRC as drop-in replacements for ``torch.nn.GRU``, and ``make_rnn``.
    brc_rl.agents: recurrent PPO and A2C on stable-baselines3 whose memory is any cell.
    brc_rl.envs: sparse-memory Gymnasium tasks (registered on import).
    brc_rl.supervised: the paper's supervised benchmarks.
"""

__version__ = "0.1.0"
