"""Config loading, --set overrides and validation of ``brc-rl train`` (no training here)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from brc_rl.cli import main
from brc_rl.experiments import config as cfg
from brc_rl.experiments.config import (
    ConfigError,
    EnvConfig,
    PolicyConfig,
    TrainConfig,
    apply_overrides,
    config_from_dict,
    load_config,
)
from brc_rl.experiments.schema import check_type, schema_docs
from brc_rl.experiments.warmup import PolicyWarmupConfig

ROOT = Path(__file__).resolve().parents[2]
BASE = {
    "algo": "ppo",
    "env": {"id": "brc_rl/TMaze-v0", "kwargs": {"corridor_length": 3}, "n_envs": 2},
    "policy": {"cell": "nbrc", "hidden_size": 8},
    "hyperparams": {"n_steps": 16, "batch_size": 32, "learning_rate": 1.0e-3},
    "total_timesteps": 64,
}


def error_of(overrides: list[str], data: dict | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        config_from_dict(data or BASE, overrides)
    assert "\n" not in str(info.value)  # one line
    return str(info.value)


def test_base_config_loads_with_defaults():
    config = config_from_dict(BASE)
    assert config.algo == "ppo" and config.env.n_envs == 2 and config.policy.hidden_size == 8
    assert config.policy.net_arch == [64] and config.policy.activation_fn == "tanh"  # defaults
    assert config.hyperparams == {"n_steps": 16, "batch_size": 32, "learning_rate": 1.0e-3}


@pytest.mark.parametrize(
    ("override", "names"),
    [
        ("policy.cel=gru", ["'policy.cel'", "did you mean 'cell'", "hidden_size", "shared_memory"]),
        ("colour=red", ["'colour'", "algo", "total_timesteps", "checkpoint_freq"]),
        ("env.size=3", ["'env.size'", "n_envs", "wrappers"]),
    ],
)
def test_unknown_keys_name_the_key_and_the_valid_keys(override, names):
    message = error_of([override])
    for name in names:
        assert name in message


@pytest.mark.parametrize(
    ("override", "names"),
    [
        ("policy.cell=rnn", ["'policy.cell'", "'rnn'", "brc, gru, lsnn, lstm, nbrc, src"]),
        ("algo=dqn", ["'algo'", "'dqn'", "a2c, ppo"]),
        ("policy.name=MlpLstmPolicy", ["'policy.name'", "MlpRecurrentPolicy", "CnnRecurrentPolicy"]),
        ("policy.activation_fn=swish", ["'policy.activation_fn'", "relu", "tanh"]),
        ("policy.features_extractor=resnet", ["'policy.features_extractor'", "minigrid_cnn", "flatten"]),
        ("env.wrappers=[img]", ["'env.wrappers[0]'", "minigrid_img"]),
        ("env.vec_env=ray", ["'env.vec_env'", "dummy, subproc"]),
        ("hyperparams.n_step=8", ["'hyperparams.n_step'", "n_steps", "gae_lambda"]),
        ("hyperparams.seed=3", ["'hyperparams.seed'", "'seed'"]),
        ("env.kwargs.length=3", ["'env.kwargs.length'", "corridor_length", "action_noise"]),
    ],
)
def test_unknown_names_list_the_valid_choices(override, names):
    message = error_of([override])
    for name in names:
        assert name in message


def test_unknown_env_id_lists_close_matches():
    message = error_of(["env.id=MiniGrid-MemoryS8-v0"])
    assert "'MiniGrid-MemoryS8-v0'" in message and "MiniGrid-MemoryS7-v0" in message
    assert "brc_rl/TMaze-v0" in error_of(["env.id=brc_rl/TMaz-v0"])


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("policy.hidden_size=abc", "'policy.hidden_size': expected int, got str 'abc'"),
        ("policy.hidden_size=8.0", "'policy.hidden_size': expected int, got float 8.0"),
        ("policy.hidden_size=1.5", "'policy.hidden_size': expected int, got float 1.5"),
        ('env.n_envs="8"', "'env.n_envs': expected int, got str '8'"),
        ("seed=true", "'seed': expected int, got bool True"),
        ("run_dir=3", "'run_dir': expected str | None, got int 3"),
        ("env.n_envs=true", "'env.n_envs': expected int, got bool True"),
        ("policy.shared_memory=1", "'policy.shared_memory': expected bool, got int 1"),
        ("policy.net_arch=[64, x]", "'policy.net_arch': expected list[int] | dict[str, list[int]]"),
        ("hyperparams.learning_rate=fast", "'hyperparams.learning_rate': expected a number or 'lin_<start>'"),
        ("hyperparams.n_steps=1e3", "'hyperparams.n_steps': expected int, got float 1000.0"),
        ("total_timesteps=0", "'total_timesteps': expected an integer >= 1, got 0"),
        ("keep_checkpoints=0", "'keep_checkpoints': expected an integer >= 1, got 0"),
        ("eval_freq=-1", "'eval_freq': expected an integer >= 0, got -1"),
        ("env.n_envs=0", "'env.n_envs': expected an integer >= 1, got 0"),
        ("policy.net_arch={pi: [8], v: [8]}", "'policy.net_arch': a mapping has keys pi and vf, got ['pi', 'v']"),
        ("policy.features_extractor_kwargs={features_dim: 8}", "'policy.features_extractor_kwargs': needs"),
        ("env=brc_rl/TMaze-v0", "'env': expected a mapping, got str"),
    ],
)
def test_wrong_types_name_expected_and_actual(override, expected):
    assert expected in error_of([override])


def test_resolved_config_dumps_to_yaml_that_loads_back_equal(tmp_path):
    config = config_from_dict(BASE, ["policy.net_arch={pi: [8], vf: [4]}", "hyperparams.learning_rate=3e-4"])
    cfg.dump_config(config, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == config
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["policy"]["cell"] == "nbrc"  # defaults written


def test_missing_required_key():
    data = {k: v for k, v in BASE.items() if k != "total_timesteps"}
    assert "missing required config key 'total_timesteps'" in error_of([], data)


def test_overrides_parse_yaml_scalars():
    config = config_from_dict(BASE, [
        "policy.cell=gru", "hyperparams.learning_rate=3e-4", "policy.net_arch=[16, 16]",
        "policy.shared_memory=true", "env.kwargs.corridor_length=7", "hyperparams.gamma=0.9",
        "policy.net_arch={pi: [8], vf: [4]}", "run_dir=null",
    ])
    assert config.policy.cell == "gru"
    assert config.hyperparams["learning_rate"] == pytest.approx(3e-4)  # YAML 1.1 would read a string
    assert config.policy.net_arch == {"pi": [8], "vf": [4]}  # the last override wins
    assert config.policy.shared_memory is True
    assert config.env.kwargs == {"corridor_length": 7}
    assert config.hyperparams["gamma"] == 0.9 and config.run_dir is None


def test_overrides_do_not_touch_the_input_and_reject_bad_syntax():
    data = {"a": {"b": 1}}
    assert apply_overrides(data, ["a.c=2"]) == {"a": {"b": 1, "c": 2}} and data == {"a": {"b": 1}}
    with pytest.raises(ConfigError, match="must look like key.subkey=value"):
        apply_overrides(data, ["a.b"])
    with pytest.raises(ConfigError, match="'a.b' is not a mapping"):
        apply_overrides(data, ["a.b.c=3"])


def fits(value, annotation) -> bool:
    try:
        check_type("key", value, annotation)
    except ConfigError:
        return False
    return True


def test_check_type_takes_no_coercion():
    assert fits(3, float) and not fits(True, float) and not fits(True, int) and not fits("8", int)
    assert fits(None, int | None) and not fits("x", int | None)
    assert fits({"pi": [1]}, dict[str, list[int]]) and not fits({"pi": [1.5]}, dict[str, list[int]])
    assert not fits("tanh", type) and not fits(len, type[int])
    with pytest.raises(ConfigError, match=r"^config key 'key': expected int \| None, got str 'x'$"):
        check_type("key", "x", int | None)


def test_yaml_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping, got list"):
        load_config(tmp_path / "list.yaml")


def test_cli_rejects_bad_config_before_building_anything(tmp_path, capsys, monkeypatch):
    from brc_rl.experiments import run

    def forbidden(*args, **kwargs):
        raise AssertionError("an env was built for an invalid config")

    monkeypatch.setattr(run, "make_env", forbidden)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(BASE))
    run_dir = tmp_path / "run"
    code = main(["train", str(path), "--set", "policy.cell=rnn", "--run-dir", str(run_dir)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("brc-rl train: error: config key 'policy.cell'") and "nbrc" in err
    assert "Traceback" not in err and not run_dir.exists()
    assert main(["train"]) == 2 and "either a CONFIG file or --resume" in capsys.readouterr().err


# subfolders too (configs/<task>/<algo>_<cell>.yaml); configs/sweeps/ holds sweep files (test_sweep.py)
CONFIGS = sorted(p for p in (ROOT / "configs").rglob("*.yaml") if p.parent.name != "sweeps")


def test_configs_folder_is_not_empty():
    assert {"quickstart.yaml", "minigrid_memory_s7.yaml", "minigrid_memory_s9_view3.yaml"} <= {p.name for p in CONFIGS}


@pytest.mark.parametrize("path", CONFIGS, ids=[str(p.relative_to(ROOT / "configs")) for p in CONFIGS])
def test_every_config_loads_and_validates(path):
    config = load_config(path)
    assert config.total_timesteps >= 1
    # the resolved policy kwargs are built (names resolved) without building the env
    from brc_rl.experiments.run import policy_kwargs

    assert policy_kwargs(config.policy)["cell"] == config.policy.cell


def test_every_schema_key_is_documented():
    rows = schema_docs(TrainConfig)
    keys = [row[0] for row in rows]
    assert "policy.cell" in keys and "env.id" in keys and "eval_freq" in keys
    assert len(keys) == len(set(keys)) == len(TrainConfig.model_fields) - 2 + len(EnvConfig.model_fields) + len(
        PolicyConfig.model_fields) + len(PolicyWarmupConfig.model_fields)  # sections walked; optional ones listed too
    assert all(doc for *_, doc in rows), [key for key, *_, doc in rows if not doc]
    by_key = {key: (tp, default) for key, tp, default, _ in rows}
    assert by_key["env.id"] == ("str", "required") and by_key["policy.net_arch"] == (
        "list[int] | dict[str, list[int]]", "[64]")
    assert by_key["run_dir"] == ("str | None", "null") and by_key["policy.activation_fn"] == ("str", "tanh")
    assert by_key["policy.warmup"] == ("PolicyWarmupConfig | None", "null")
    assert by_key["policy.warmup.steps"] == ("int", "100")


def test_batch_size_must_cut_whole_environments():
    message = error_of(["hyperparams.batch_size=24"])  # n_steps 16, 2 envs
    assert "'hyperparams.batch_size'" in message and "valid: 16, 32 or null" in message
    assert config_from_dict(BASE, ["hyperparams.batch_size=null"]).hyperparams["batch_size"] is None
    a2c = dict(BASE, algo="a2c", hyperparams={"n_steps": 16})
    assert config_from_dict(a2c).algo == "a2c"  # A2C has no batch_size: one full batch
    assert "RecurrentA2C takes no argument 'batch_size'" in error_of(["hyperparams.batch_size=32"], a2c)


def test_features_to_head_is_refused_where_the_policy_has_no_such_head():
    assert config_from_dict(BASE, ["policy.features_to_head=true"]).policy.features_to_head
    assert "sb3-contrib's RecurrentPPO does not take it" in error_of(
        ["algo=sb3_contrib_ppo", "policy.cell=lstm", "policy.features_to_head=true"])
    nmd = dict(BASE, env={"id": "brc_rl/MovingTarget-v0", "wrappers": [{"prev_action_reward": {"mode": "dict"}}]},
               policy={"name": "NmdRecurrentPolicy", "ortho_init": False, "features_to_head": True})
    assert "'policy.features_to_head': NmdRecurrentPolicy does not take it" in error_of([], nmd)
