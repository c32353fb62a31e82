"""``policy.warmup`` in RL runs and ``brc-rl vaa`` on an RL run folder (tiny runs)."""

from __future__ import annotations

import json

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from brc_rl.cli import main
from brc_rl.experiments.config import ConfigError, config_from_dict
from brc_rl.experiments.evaluation import load_agent, load_run_config
from brc_rl.experiments.run import train
from brc_rl.experiments.warmup import PolicyWarmupConfig, WarmupConfig
from brc_rl.nn import PartialWarmup
from brc_rl.nn.warmup import warmup

TINY_WARMUP = {
    "algo": "ppo",
    "env": {"id": "brc_rl/TMaze-v0", "kwargs": {"corridor_length": 2}, "n_envs": 2},
    "policy": {"cell": "gru", "hidden_size": 8, "net_arch": [8],
               "warmup": {"steps": 3, "measure_steps": 50, "measure_samples": 8, "rollout_steps": 32,
                          "partial": True}},
    "hyperparams": {"n_steps": 16, "batch_size": 32, "n_epochs": 1},
    "total_timesteps": 32,
    "eval_freq": 0,
    "progress_bar": False,
}


def test_policy_warmup_runs_before_learning_and_vaa_reads_the_run(tmp_path, capsys):
    run_dir = tmp_path / "run"
    train(TINY_WARMUP, run_dir=run_dir, argv=["test"])
    assert "warm-up of memory: VAA" in capsys.readouterr().err
    records = json.loads((run_dir / "warmup.json").read_text())
    assert set(records) == {"memory", "critic_memory"}  # the critic has its own memory
    for record in records.values():
        assert len(record["losses"]) == 3 and record["settings"]["steps"] == 3
        assert 0 < record["before"]["overall"] <= 1 and len(record["after"]["layers"]) == 1
    events = EventAccumulator(str(run_dir / "tensorboard" / "warmup"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"memory/vaa_before_warmup", "memory/layer0/vaa_after_warmup", "memory/warmup_loss",
            "critic_memory/layer0/warmup_vaa_star"} <= tags
    assert events.Scalars("memory/vaa_after_warmup")[0].value == pytest.approx(records["memory"]["after"]["overall"])
    agent, _ = load_agent(run_dir, load_run_config(run_dir))
    assert isinstance(agent.policy.memory, PartialWarmup)  # warmup.partial: the memory of saved and loaded agents

    out = tmp_path / "vaa.json"
    assert main(["vaa", str(run_dir), "--steps", "50", "--samples", "8", "--rollout-steps", "32",
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "memory: VAA" in printed and "critic_memory: VAA" in printed and "layer 0" in printed
    assert set(json.loads(out.read_text())) == {"memory", "critic_memory"}


@pytest.mark.parametrize(("overrides", "message"), [
    ({"steps": -1}, "config key 'policy.warmup.steps': expected an integer >= 0, got -1"),
    ({"stepz": 3}, "unknown config key 'policy.warmup.stepz' (did you mean 'steps'?)"),
    ({"rollout_steps": 0}, "config key 'policy.warmup.rollout_steps': expected an integer >= 1, got 0"),
])
def test_bad_warmup_keys_are_refused(overrides, message):
    data = {**TINY_WARMUP, "policy": {**TINY_WARMUP["policy"], "warmup": overrides}}
    with pytest.raises(ConfigError) as error:
        config_from_dict(data)
    assert str(error.value).startswith(message)


def test_sb3_contrib_takes_no_warmup():
    with pytest.raises(ConfigError, match="config key 'policy.warmup': brc-rl warms up"):
        config_from_dict({**TINY_WARMUP, "algo": "sb3_contrib_ppo",
                          "policy": {"hidden_size": 8, "warmup": {}}})


def test_config_defaults_are_the_functions():
    import inspect

    defaults = {name: p.default for name, p in inspect.signature(warmup).parameters.items()
                if p.default is not inspect.Parameter.empty and name not in ("lengths", "callback")}
    assert WarmupConfig().kwargs() == defaults
    assert PolicyWarmupConfig().kwargs() == defaults
