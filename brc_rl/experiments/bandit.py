"""Mean regret per episode of a MetaBandit run's model (``brc-rl bandit-regret RUN_DIR``).

Plays ``--episodes`` episodes through :func:`brc_rl.experiments.evaluation.evaluate` on
min(100, episodes) parallel envs (env i seeded ``seed + i``, the recurrent state
carried and reset at each episode start, the episodes spread evenly over the envs) and reads
``info["regret"]``, the env's own expected regret ``sum_t (max_a p_a - p_{a_t})``, at the end
of each episode. Prints the mean regret and its standard error. Sampled actions
(``--stochastic``) are what the policy was trained with; greedy ones are the default, as in
``brc-rl eval``.
"""

from __future__ import annotations

from pathlib import Path

from brc_rl.experiments.evaluation import evaluate, load_run_config
from brc_rl.experiments.run import RunError

BANDIT_ID = "brc_rl/MetaBandit-v0"


def bandit_regrets(run_dir: Path, episodes: int, seed: int = 0, model: str = "final", deterministic: bool = True,
                   batch: int = 100, device: str = "auto") -> list[float]:
    """Regret at the end of each of ``episodes`` episodes, in the order they ended.

    Raises:
        RunError: if the run was not trained on ``brc_rl/MetaBandit-v0``.
    """
    config = load_run_config(run_dir)
    if config.env.id != BANDIT_ID:
        raise RunError(f"{run_dir} was trained on {config.env.id}, not {BANDIT_ID}")
    result = evaluate(run_dir, episodes, deterministic, seed=seed, model=model, device=device,
                      n_envs=min(batch, episodes))
    assert result.regrets is not None  # MetaBandit reports info["regret"]
    return result.regrets
