"""Mean regret per episode of a MetaBandit run's model (``brc-rl bandit-regret RUN_DIR``).

Plays ``--episodes`` episodes on ``--batch`` parallel envs (env i seeded ``seed + i``, the
recurrent state carried and reset at each episode start) and reads ``info["regret"]``, the
env's own expected regret ``sum_t (max_a p_a - p_{a_t})``, at the end of each episode.
Prints the mean regret and its standard error. Sampled actions (``--stochastic``) are what
the policy was trained with; greedy ones are the default, as in ``brc-rl eval``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from brc_rl.experiments.evaluation import load_agent, load_run_config
from brc_rl.experiments.run import RunError, make_env


def bandit_regrets(run_dir: Path, episodes: int, seed: int = 0, model: str = "final", deterministic: bool = True,
                   batch: int = 100, device: str = "auto") -> list[float]:
    """Regret at the end of each of ``episodes`` episodes (rounded up to whole batches)."""
    config = load_run_config(run_dir)
    if config.env.id != "brc_rl/MetaBandit-v0":
        raise RunError(f"{run_dir} was trained on {config.env.id}, not brc_rl/MetaBandit-v0")
    agent, _ = load_agent(run_dir, config, model, device=device)
    env = make_env(config.env, batch, seed, training=False)
    regrets: list[float] = []
    obs, state = env.reset(), None
    episode_start = np.ones(batch, dtype=bool)
    while len(regrets) < episodes:
        action, state = agent.predict(obs, state=state, episode_start=episode_start, deterministic=deterministic)
        obs, _, done, infos = env.step(action)
        episode_start = done
        regrets += [float(info["regret"]) for info, d in zip(infos, done) if d]
    env.close()
    return regrets
