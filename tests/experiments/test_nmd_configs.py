"""The NMD configs run end to end (tiny budgets), and the config keys of NmdRecurrentPolicy."""

from __future__ import annotations

from pathlib import Path

import pytest

from brc_rl.experiments.config import ConfigError, load_config
from brc_rl.experiments.evaluation import evaluate
from brc_rl.experiments.run import policy_kwargs, train

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TINY = ["env.n_envs=2", "env.kwargs.max_episode_steps=12", "hyperparams.n_steps=16", "hyperparams.batch_size=32",
        "hyperparams.n_epochs=1", "total_timesteps=64", "checkpoint_freq=0", "eval_freq=64", "eval_episodes=2",
        "progress_bar=false", "device=cpu"]


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("config", ["moving_target/ppo_nmd_gru.yaml", "windy_reference/ppo_nmd_nbrc.yaml",
                                    "multiple_references/ppo_gru.yaml"])
def test_config_trains_and_evaluates(config, tmp_path):
    run_dir = train(load_config(CONFIGS / config, TINY + ["policy.hidden_size=8"]), run_dir=tmp_path / "run", argv=[])
    result = evaluate(run_dir, 2, deterministic=True, seed=0, model="final", device="cpu", n_envs=1)
    assert len(result.returns) == 2


def test_policy_keys_reach_the_nmd_policy_only():
    nmd = load_config(CONFIGS / "windy_reference" / "ppo_nmd_nbrc.yaml")
    kwargs = policy_kwargs(nmd.policy)
    assert (kwargs["context_size"], kwargs["log_std_init"], kwargs["net_arch"]) == (15, -0.5, [30, 10])
    assert kwargs["activation_fn"].__name__ == "Hardtanh" and kwargs["ortho_init"] is False
    plain = load_config(CONFIGS / "windy_reference" / "ppo_nbrc.yaml")
    assert "context_size" not in policy_kwargs(plain.policy)
    default = load_config(CONFIGS / "quickstart.yaml")
    assert "log_std_init" not in policy_kwargs(default.policy)


def test_nmd_needs_ortho_init_false():
    with pytest.raises(ConfigError, match="config key 'policy.ortho_init': NmdRecurrentPolicy has the authors'"):
        load_config(CONFIGS / "moving_target" / "ppo_nmd_nbrc.yaml", ["policy.ortho_init=true"])
