"""``brc-rl sweep`` on Ray Tune: trials as run folders, resume, validation before any trial (tiny runs)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from brc_rl.cli import main
from brc_rl.experiments.config import ConfigError, load_config
from brc_rl.experiments.run import checkpoints
from brc_rl.experiments.sweep import assignment, load_sweep, resume_sweep, run_sweep
from tests.experiments.sweep_helpers import ENV_ID
from tests.experiments.test_run import saved_steps

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "configs" / "sweeps" / "tiny.yaml"


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray (2 CPUs, no dashboard) for the module's sweeps."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


def write_sweep(tmp_path: Path, **keys) -> Path:
    """The tiny sweep with ``keys`` replaced, written to tmp_path (its base made absolute)."""
    data = yaml.safe_load(TINY.read_text())
    data["base"] = str((TINY.parent / data["base"]).resolve())
    data.update(keys)
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def mtimes(folder: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------- validation (no Ray)
SHIPPED = sorted((ROOT / "configs" / "sweeps").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_sweep_file_validates_every_trial(path):
    sweep = load_sweep(path)
    assert sweep.first is not None and sweep.first.total_timesteps > 0
    assert sweep.trials or sweep.config.search  # a grid names its trials; a search samples them


#: Result sweeps whose trials are the shipped configs (``{cell}``: the trial's cell), with the
#: ``--set`` overrides the results pages give for them: the pages state that these produced them.
MINIGRID_S13 = ("env.kwargs.size=13", "env.kwargs.random_length=true")
RESULT_SWEEPS = {"bandit_2x100_norm": ("bandit/ppo_{cell}.yaml", ()),
                 "bandit_5x100_norm": ("bandit/ppo_{cell}.yaml", ("env.kwargs.n_arms=5",)),
                 "minigrid_s9": ("minigrid_memory/ppo_{cell}.yaml", ()),
                 "minigrid_s13_random_length": ("minigrid_memory/ppo_{cell}.yaml", MINIGRID_S13),
                 "tmaze_l50_long": ("tmaze/ppo_nbrc_long.yaml", ()),
                 "bandit_2x100_norm_sb3": ("bandit/ppo_sb3_lstm.yaml", ()),
                 "bandit_5x100_norm_sb3": ("bandit/ppo_sb3_lstm.yaml", ("env.kwargs.n_arms=5",)),
                 "minigrid_s13_random_length_sb3": ("minigrid_memory/ppo_sb3_lstm.yaml", MINIGRID_S13)}
#: What a sweep's trial changes beyond the config: its seed, cell, checkpoints and progress bar.
TRIAL_ONLY = {"seed", "keep_checkpoints", "checkpoint_freq", "progress_bar", "policy"}


@pytest.mark.parametrize(("stem", "shipped"), RESULT_SWEEPS.items())
def test_result_sweeps_train_the_shipped_configs(stem, shipped):
    sweep = load_sweep(ROOT / "configs" / "sweeps" / f"{stem}.yaml")
    path, overrides = shipped
    for name in sweep.trials:
        trial = sweep.trial_config(name, sweep.overrides(name)).model_dump()
        config = load_config(ROOT / "configs" / path.format(cell=trial["policy"]["cell"]), overrides).model_dump()
        assert {k: v for k, v in trial.items() if k not in TRIAL_ONLY} == {
            k: v for k, v in config.items() if k not in TRIAL_ONLY}, name
        assert trial["policy"] == config["policy"] | {"cell": trial["policy"]["cell"]}, name


def test_grid_trials_are_named_after_their_values():
    sweep = load_sweep(TINY)
    assert list(sweep.trials) == ["cell=nbrc", "cell=gru"]
    assert sweep.trials["cell=gru"][-1] == "policy.cell=gru"
    assert "policy.net_arch=[8]" in sweep.trials["cell=gru"]
    assert sweep.first.total_timesteps == 128 and sweep.first.policy.cell == "nbrc"
    assert assignment("hyperparams.learning_rate", np.float64(1e-4)) == "hyperparams.learning_rate=0.0001"


@pytest.mark.parametrize("keys, message", [
    ({"grdi": {"seed": [0]}}, "unknown sweep key 'grdi' (did you mean 'grid'?)"),
    ({"grid": {"policy.cel": ["gru"]}}, "trial cel=gru: unknown config key 'policy.cel' (did you mean 'cell'?)"),
    ({"grid": {"policy.cell": ["gru", "foo"]}}, "trial cell=foo: config key 'policy.cell': unknown name 'foo'"),
    ({"search": {"hyperparams.n_steps": {"loguniform": [8, 64]}}},
     "config key 'hyperparams.n_steps': expected int, got float 8.0"),
    ({"search": {"hyperparams.learning_rate": {"loguniform": [0, 1]}}}, "loguniform needs 0 < lower < upper"),
    ({"grid": {"total_timesteps": [64, 128]}}, "config key 'total_timesteps' differs between trials (64, 128)"),
    ({"num_samples": 2}, "sweep key 'num_samples'"),
])
def test_bad_sweep_fails_before_any_trial(tmp_path, capsys, keys, message):
    path, sweep_dir = write_sweep(tmp_path, **keys), tmp_path / "sweep"
    if "search" in keys:
        keys["grid"] = {}
        path = write_sweep(tmp_path, **keys)
    assert main(["sweep", str(path), "--dir", str(sweep_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("brc-rl sweep: error: ") and err.count("\n") == 1 and message in err, err
    assert not sweep_dir.exists()


def test_sweep_arguments_are_checked(tmp_path, capsys):
    assert main(["sweep"]) == 2
    assert main(["sweep", str(TINY), "--resume", str(tmp_path)]) == 2
    assert main(["sweep", "--resume", str(tmp_path)]) == 2
    assert "is not a sweep folder" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="either grid or search"):
        load_sweep(write_sweep(tmp_path, search={"seed": {"randint": [0, 9]}}))


def test_help_imports_no_torch_and_no_ray():
    code = ("import sys; from brc_rl.cli import build_parser; build_parser().format_help(); "
            "print([m for m in ('torch', 'ray') if m in sys.modules])")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          check=True).stdout.strip() == "[]"


# --------------------------------------------------------------------------- on Ray
def test_grid_sweep_writes_run_folders_and_resume_reruns_nothing(ray_local, tmp_path, capsys):
    sweep_dir = tmp_path / "sweep"
    assert main(["sweep", str(TINY), "--dir", str(sweep_dir)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"cell=gru +finished +128", out) and re.search(r"cell=nbrc +finished +128", out)
    assert yaml.safe_load((sweep_dir / "sweep.yaml").read_text())["base"] == "base.yaml"
    assert (sweep_dir / "base.yaml").is_file() and (sweep_dir / "ray").is_dir()
    for cell in ("nbrc", "gru"):
        run_dir = sweep_dir / "trials" / f"cell={cell}"
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        assert config["policy"]["cell"] == cell and config["total_timesteps"] == 128
        assert config["env"]["kwargs"] == {"corridor_length": 2} and config["progress_bar"] is False
        assert saved_steps(run_dir / "final_model.zip") == 128
        with np.load(run_dir / "eval" / "evaluations.npz") as evaluations:
            assert list(evaluations["timesteps"]) == [64, 128]
    before = mtimes(sweep_dir / "trials")
    assert main(["sweep", "--resume", str(sweep_dir)]) == 0
    assert mtimes(sweep_dir / "trials") == before
    assert (sweep_dir / "command.txt").read_text().splitlines()[1] == f"brc-rl sweep --resume {sweep_dir}"


def test_failed_trial_resumes_from_its_checkpoint(ray_local, tmp_path):
    marker = tmp_path / "crashed"
    # each of the 2 envs crashes on its 37th step: after the checkpoint at 64 env steps, before 96
    path = write_sweep(tmp_path, grid={"env.kwargs.crash_after": [None, 36]},
                       set={**yaml.safe_load(TINY.read_text())["set"], "env.id": ENV_ID,
                            "env.kwargs.marker": str(marker)})
    result = run_sweep(path, tmp_path / "sweep", argv=["sweep"])
    status = {t.name: t.status for t in result.trials}
    assert status == {"crash_after=null": "finished", "crash_after=36": "error"}, result.summary()
    assert "simulated crash" in result.failed[0].error and marker.exists()
    crashed, finished = (tmp_path / "sweep" / "trials" / name for name in ("crash_after=36", "crash_after=null"))
    assert [steps for steps, _ in checkpoints(crashed)] == [32, 64] and not (crashed / "final_model.zip").exists()
    before = mtimes(finished)

    result = resume_sweep(tmp_path / "sweep", argv=["resume"])
    assert {t.name: (t.status, t.env_steps) for t in result.trials} == {
        "crash_after=null": ("finished", 128), "crash_after=36": ("finished", 128)}
    assert mtimes(finished) == before
    assert saved_steps(crashed / "final_model.zip") == 128
    assert [steps for steps, _ in checkpoints(crashed)] == [96, 128]
    assert (crashed / "command.txt").read_text() == "sweep\nresume\n"
    with np.load(crashed / "eval" / "evaluations.npz") as evaluations:
        assert list(evaluations["timesteps"]) == [64, 128]


def test_optuna_search_with_asha(ray_local, tmp_path):
    path = write_sweep(tmp_path, grid={}, search={"hyperparams.learning_rate": {"loguniform": [1e-4, 1e-2]}},
                       num_samples=2, scheduler={"name": "asha", "grace_period": 64, "reduction_factor": 2})
    result = run_sweep(path, tmp_path / "sweep", argv=["sweep"])
    assert len(result.trials) == 2 and not result.failed, result.summary()
    for trial in result.trials:
        assert trial.status in ("finished", "stopped") and trial.env_steps in (64, 128)
        config = yaml.safe_load((trial.run_dir / "config.yaml").read_text())
        assert 1e-4 <= config["hyperparams"]["learning_rate"] <= 1e-2
