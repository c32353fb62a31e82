"""configs/<task>/<algo>_<cell>.yaml: the full grid, the NMD agents' files, and the loader's ``base:`` key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from brc_rl.experiments.config import ConfigError, load_config, read_yaml
from brc_rl.experiments.schema import deep_merge

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TASKS = {
    "tmaze": ("brc_rl/TMaze-v0", {"corridor_length": 10}),
    "bandit": ("brc_rl/MetaBandit-v0", {"n_arms": 2, "n_pulls": 100, "prior": "independent"}),
    "minigrid_memory": ("brc_rl/MiniGridMemory-v0", {"size": 9, "agent_view_size": 3}),
}
CELLS = ("nbrc", "brc", "gru", "lstm")
#: File-name prefix -> (algo, cells): our two algorithms with every cell, sb3-contrib's LSTM PPO.
ALGOS = {"ppo": ("ppo", CELLS), "a2c": ("a2c", CELLS), "ppo_sb3": ("sb3_contrib_ppo", ("lstm",))}
GRID = [(task, prefix, cell) for task in TASKS for prefix, (_, cells) in ALGOS.items() for cell in cells]
#: The NMD net's tasks (issue 20): the NMD net and the plain recurrent agent, nBRC or GRU.
NMD_TASKS = {
    "moving_target": "brc_rl/MovingTarget-v0",
    "windy_reference": "brc_rl/WindyReference-v0",
    "multiple_references": "brc_rl/MultipleReferences-v0",
}
NMD_FILES = ("ppo_nmd_nbrc", "ppo_nmd_gru", "ppo_nbrc", "ppo_gru")


def test_the_grid_is_exactly_27_files_plus_the_bandits_nmd_ones_and_the_long_tmaze():
    files = {p.relative_to(CONFIGS).as_posix() for task in TASKS for p in (CONFIGS / task).glob("*.yaml")}
    extra = {"bandit/ppo_nmd_nbrc.yaml", "bandit/ppo_nmd_gru.yaml", "tmaze/ppo_nbrc_long.yaml"}
    assert files - extra == {f"{task}/{prefix}_{cell}.yaml" for task, prefix, cell in GRID}
    assert len(files - extra) == 27 and extra <= files


def test_long_tmaze_is_the_quick_start_with_long_rollouts_and_a_longer_budget():
    short, long = (load_config(CONFIGS / "tmaze" / f"{name}.yaml") for name in ("ppo_nbrc", "ppo_nbrc_long"))
    assert (long.hyperparams["n_steps"], long.hyperparams["batch_size"], long.total_timesteps) == (512, 1024, 614400)
    assert long.env.kwargs == {"corridor_length": 50}
    # the same agent otherwise: policy and every other hyperparameter
    assert long.policy == short.policy
    rollout = {"n_steps", "batch_size"}
    assert {k: v for k, v in long.hyperparams.items() if k not in rollout} == {
        k: v for k, v in short.hyperparams.items() if k not in rollout}


@pytest.mark.parametrize("task", NMD_TASKS)
def test_nmd_tasks_four_agents_differ_in_policy_name_and_cell_only(task):
    assert {p.stem for p in (CONFIGS / task).glob("*.yaml")} == set(NMD_FILES)
    base = read_yaml(CONFIGS / task / "ppo_nmd_nbrc.yaml")
    plain = {"name": "MultiInputRecurrentPolicy"}
    for name, policy in [("ppo_nmd_gru", {"cell": "gru"}), ("ppo_nbrc", plain), ("ppo_gru", plain | {"cell": "gru"})]:
        assert read_yaml(CONFIGS / task / f"{name}.yaml") == deep_merge(base, {"policy": policy})
    config = load_config(CONFIGS / task / "ppo_nmd_nbrc.yaml")
    assert (config.env.id, config.policy.name, config.policy.ortho_init) == (NMD_TASKS[task], "NmdRecurrentPolicy",
                                                                            False)
    assert config.env.wrappers[0]["prev_action_reward"]["mode"] == "dict"


def test_bandit_nmd_configs():
    nbrc, gru = (load_config(CONFIGS / "bandit" / f"ppo_nmd_{cell}.yaml") for cell in ("nbrc", "gru"))
    plain = load_config(CONFIGS / "bandit" / "ppo_nbrc.yaml")
    assert (nbrc.policy.name, nbrc.policy.cell, gru.policy.cell) == ("NmdRecurrentPolicy", "nbrc", "gru")
    assert (nbrc.env, nbrc.hyperparams, nbrc.total_timesteps) == (
        plain.env.model_copy(update={"wrappers": [{"prev_action_reward": {"mode": "dict"}}]}), plain.hyperparams,
        plain.total_timesteps)


@pytest.mark.parametrize(("task", "prefix", "cell"), GRID, ids=[f"{t}/{a}_{c}" for t, a, c in GRID])
def test_each_config_trains_its_task_algo_and_cell(task, prefix, cell):
    config = load_config(CONFIGS / task / f"{prefix}_{cell}.yaml")
    env_id, kwargs = TASKS[task]
    assert (config.algo, config.policy.cell, config.env.id) == (ALGOS[prefix][0], cell, env_id)
    assert config.env.kwargs.items() >= kwargs.items()  # the task; the MiniGrid PPO files add n_actions: 3
    if task == "minigrid_memory":
        assert config.policy.features_extractor == "minigrid_cnn"


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("algo", ["ppo", "a2c"])
def test_cells_of_a_task_and_algo_differ_only_in_the_cell(task, algo):
    base = read_yaml(CONFIGS / task / f"{algo}_nbrc.yaml")
    for cell in ("brc", "gru", "lstm"):
        data = read_yaml(CONFIGS / task / f"{algo}_{cell}.yaml")
        assert data == deep_merge(base, {"policy": {"cell": cell}})


#: sb3-contrib's policy per task: MiniGrid's observation is a dict (the previous action beside the view), and
#: sb3-contrib's heads read the LSTM's output only (no ``features_to_head``).
SB3_POLICY = {"tmaze": {"name": "MlpLstmPolicy"}, "bandit": {"name": "MlpLstmPolicy"},
              "minigrid_memory": {"name": "MultiInputLstmPolicy", "features_to_head": False}}


@pytest.mark.parametrize("task", TASKS)
def test_sb3_contrib_configs_are_the_ppo_lstm_ones_with_its_algorithm(task):
    ours = read_yaml(CONFIGS / task / "ppo_lstm.yaml")
    data = read_yaml(CONFIGS / task / "ppo_sb3_lstm.yaml")
    assert data == deep_merge(ours, {"algo": "sb3_contrib_ppo", "policy": SB3_POLICY[task]})


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_deep_merge_merges_mappings_and_replaces_the_rest():
    base = {"a": {"x": 1, "y": {"p": 1, "q": 2}}, "b": [1, 2], "c": 1}
    merged = deep_merge(base, {"a": {"y": {"q": 3}, "z": 0}, "b": [3], "c": {"k": 1}})
    assert merged == {"a": {"x": 1, "y": {"p": 1, "q": 3}, "z": 0}, "b": [3], "c": {"k": 1}}
    assert base == {"a": {"x": 1, "y": {"p": 1, "q": 2}}, "b": [1, 2], "c": 1}  # untouched


def test_base_chain_is_relative_to_each_file_and_deep_merged(tmp_path):
    write(tmp_path, "root.yaml", "algo: ppo\nenv: {id: brc_rl/TMaze-v0, n_envs: 2, kwargs: {corridor_length: 4}}\n"
          "total_timesteps: 64\nhyperparams: {n_steps: 16, n_epochs: 1, batch_size: 32}\n")
    write(tmp_path, "sub/mid.yaml", "base: ../root.yaml\nenv: {kwargs: {action_noise: 0.1}}\nseed: 5\n")
    leaf = write(tmp_path, "sub/leaf.yaml", "base: mid.yaml\npolicy: {cell: gru}\nenv: {n_envs: 4}\n")
    data = read_yaml(leaf)
    assert data == {
        "algo": "ppo", "total_timesteps": 64, "seed": 5,
        "hyperparams": {"n_steps": 16, "n_epochs": 1, "batch_size": 32},
        "env": {"id": "brc_rl/TMaze-v0", "n_envs": 4, "kwargs": {"corridor_length": 4, "action_noise": 0.1}},
        "policy": {"cell": "gru"},
    }
    config = load_config(leaf, ["env.kwargs.corridor_length=7"])  # --set applies on top
    assert config.env.kwargs == {"corridor_length": 7, "action_noise": 0.1} and config.policy.cell == "gru"
    assert "base" not in yaml.safe_load(yaml.safe_dump(config.model_dump()))


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.yaml": "base: a.yaml\n"}, r"chain has a cycle: .*a\.yaml -> .*a\.yaml"),
        ({"a.yaml": "base: b.yaml\n", "b.yaml": "base: ./a.yaml\n"}, r"cycle: .*a\.yaml -> .*b\.yaml -> .*a\.yaml"),
        ({"a.yaml": "base: missing.yaml\n"}, r"config file '.*missing\.yaml' does not exist"),
        ({"a.yaml": "base: [b.yaml]\n"},
         r"config key 'base' in '.*a\.yaml' must be a relative path \(str\), got \['b.yaml'\]"),
        ({"a.yaml": "base: b.yaml\n", "b.yaml": "- 1\n"}, r"'.*b\.yaml' must hold a mapping, got list"),
    ],
)
def test_bad_bases_are_rejected(tmp_path, files, message):
    for name, text in files.items():
        write(tmp_path, name, text)
    with pytest.raises(ConfigError, match=message):
        read_yaml(tmp_path / "a.yaml")
