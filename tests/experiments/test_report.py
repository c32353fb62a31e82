"""``brc-rl report`` on run folders built by hand with known evaluations."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.image import imread

from brc_rl.cli import main
from brc_rl.experiments.config import config_from_dict, dump_config
from brc_rl.experiments.report import agent_names, build_report, format_report, read_run, tensorboard_fps
from brc_rl.experiments.run_dir import RunDir

BASE = {
    "algo": "ppo",
    "env": {"id": "brc_rl/TMaze-v0", "kwargs": {"corridor_length": 20}, "n_envs": 2},
    "policy": {"hidden_size": 8},
    "hyperparams": {"n_steps": 16, "batch_size": 32},
    "total_timesteps": 30000,
    "eval_freq": 10000,
}


def successes(*rates: float) -> np.ndarray:
    """One evaluation of 10 episodes per rate, ``10 * rate`` of them successful."""
    return np.array([[1.0] * round(10 * r) + [0.0] * (10 - round(10 * r)) for r in rates])


def make_run(folder, cell="nbrc", seed=0, rates=(), finished=True, overrides=(), returns=None):
    """A run folder: config.yaml, eval/evaluations.npz (one evaluation per 10,000 steps, trained
    in 10 s by training.json), final_model.zip."""
    folder.mkdir(parents=True)
    dump_config(config_from_dict(BASE, [f"policy.cell={cell}", f"seed={seed}", *overrides]), folder / "config.yaml")
    if rates:
        wins = successes(*rates)
        results = wins * 4.0 if returns is None else np.asarray(returns, dtype=float)
        (folder / "eval").mkdir()
        np.savez(folder / "eval" / "evaluations.npz", timesteps=10000 * np.arange(1, len(rates) + 1), results=results,
                 ep_lengths=np.full(wins.shape, 21), successes=wins)
        RunDir(folder).record_training(0, 10000 * len(rates), 10.0)  # training.json: 1,000 steps/s a rate
    if finished:
        (folder / "final_model.zip").write_bytes(b"")
    return folder


@pytest.fixture
def sweep(tmp_path):
    """nbrc x 3 seeds, gru x 2 seeds (seed 1 stopped after 20,000 steps), two lstm runs without
    readable evaluations, a folder with a broken config.yaml, and one run of another task; the
    sweep's own config.yaml is not a run's."""
    trials = tmp_path / "sweep" / "trials"
    make_run(trials / "nbrc_s0", "nbrc", 0, (0.0, 1.0, 1.0))
    make_run(trials / "nbrc_s1", "nbrc", 1, (0.0, 0.9, 1.0))
    make_run(trials / "nbrc_s2", "nbrc", 2, (0.5, 0.9, 0.9))
    make_run(trials / "gru_s0", "gru", 0, (0.0, 0.5, 0.5))
    make_run(trials / "gru_s1", "gru", 1, (0.0, 1.0), finished=False)
    make_run(trials / "lstm_s0", "lstm", 0)
    (make_run(trials / "lstm_s1", "lstm", 1) / "eval").mkdir()
    (trials / "lstm_s1" / "eval" / "evaluations.npz").write_bytes(b"not a zip file")
    (tmp_path / "sweep" / "config.yaml").write_text("search: {policy.cell: [nbrc, gru, lstm]}\n")  # not a run
    (trials / "notes").mkdir()
    (trials / "notes" / "config.yaml").write_text("algo: [unclosed\n")
    make_run(trials / "short" / "nbrc_s0", "nbrc", 0, (1.0,),
             overrides=["env.kwargs.corridor_length=5", "total_timesteps=10000"])
    return tmp_path / "sweep"


def test_table_values(sweep):
    report = build_report([sweep])
    assert list(report.tasks) == ["brc_rl/TMaze-v0 corridor_length=20", "brc_rl/TMaze-v0 corridor_length=5"]
    text = format_report(report)
    table = text.split("### brc_rl/TMaze-v0 corridor_length=20\n\n")[1].split("\n\n")[0]
    # nbrc: finals 1.0, 1.0, 0.9 -> mean 0.967, population std 0.047; seed mean 0.167, 0.933, 0.967
    # gru: finals 0.5 and 1.0 (seed 1's last evaluation, at 20,000); seed mean on 10k, 20k: 0, 0.75
    assert table.splitlines() == [
        "| agent | seeds | final success (mean +- std) | per seed | steps to 0.95 | env steps/s "
        "| steps trained / total |",
        "|---|---|---|---|---|---|---|",
        "| ppo gru | 2 | 0.750 +- 0.250 | 0.500 (s0), 1.000 (s1*) | not reached | 2,500 | 20,000-30,000 / 30,000 "
        "(1 unfinished) |",
        "| ppo nbrc | 3 | 0.967 +- 0.047 | 1.000 (s0), 1.000 (s1), 0.900 (s2) | 30,000 | 3,000 | 30,000 / 30,000 |",
    ]
    nbrc = report.tasks["brc_rl/TMaze-v0 corridor_length=20"][1]
    np.testing.assert_allclose(nbrc.mean, [1 / 6, 2.8 / 3, 2.9 / 3])
    np.testing.assert_allclose(nbrc.low, [0.0, 0.9, 0.9])
    np.testing.assert_allclose(nbrc.high, [0.5, 1.0, 1.0])
    gru = report.tasks["brc_rl/TMaze-v0 corridor_length=20"][0]
    assert gru.timesteps.tolist() == [10000, 20000]
    assert build_report([sweep], threshold=0.7).tasks["brc_rl/TMaze-v0 corridor_length=20"][0].steps_to_threshold \
        == 20000


def test_missing_and_unfinished_runs_are_listed(sweep):
    text = format_report(build_report([sweep]))
    trials = sweep / "trials"
    left_out = text.split("Not in the tables:\n\n")[1].split("\n\n")[0].splitlines()
    assert left_out[0] == f"- {trials / 'lstm_s0'}: no eval/evaluations.npz"
    assert left_out[1] == (f"- {trials / 'lstm_s1'}: corrupt eval/evaluations.npz "
                           "(not an .npz archive: truncated or overwritten?)")
    assert left_out[2].startswith(f"- {trials / 'notes'}: unreadable config.yaml (ParserError: ")
    assert len(left_out) == 3
    assert text.endswith("Unfinished (marked *):\n\n"
                         f"- {trials / 'gru_s1'}: last evaluation at 20,000 of 30,000 steps, no final_model.zip\n")


def test_return_metric_and_runs_without_successes(tmp_path):
    make_run(tmp_path / "a", rates=(0.0, 1.0), returns=[[0.0, 1.0], [2.0, 4.0]])
    make_run(tmp_path / "b", seed=1, rates=(0.0, 1.0), returns=[[1.0, 1.0], [1.0, 2.0]])
    report = build_report([tmp_path], metric="return")
    (agent,) = report.tasks["brc_rl/TMaze-v0 corridor_length=20"]
    assert agent.finals.tolist() == [3.0, 1.5] and agent.mean.tolist() == [0.75, 2.25]
    assert "| 2.25 +- 0.75 | 3.00 (s0*), 1.50 (s1*) |" in format_report(report)  # both at 20,000 of 30,000
    assert "steps to" not in format_report(report)
    np.savez(tmp_path / "b" / "eval" / "evaluations.npz", timesteps=[10000], results=[[1.0]], ep_lengths=[[3]])
    assert "no successes in eval/evaluations.npz" in format_report(build_report([tmp_path]))


def test_differing_settings_are_different_agents(tmp_path):
    runs = [make_run(tmp_path / f"r{i}", seed=i, overrides=[f"hyperparams.learning_rate={lr}", f"device={d}"])
            for i, (lr, d) in enumerate([(0.001, "cpu"), (0.001, "auto"), (0.01, "cpu")])]
    names = agent_names([read_run(path, "return") for path in runs])
    assert names == ["ppo nbrc hyperparams.learning_rate=0.001"] * 2 + ["ppo nbrc hyperparams.learning_rate=0.01"]


def test_a_key_saved_at_its_default_or_not_saved_is_one_agent(tmp_path):
    # A run folder written before a config key existed lacks it; its default fills it in.
    old, new = make_run(tmp_path / "old", seed=0), make_run(tmp_path / "new", seed=1)
    text = (old / "config.yaml").read_text()
    (old / "config.yaml").write_text("\n".join(line for line in text.splitlines() if "context_size" not in line))
    assert "context_size" in (new / "config.yaml").read_text()
    assert agent_names([read_run(path, "return") for path in (old, new)]) == ["ppo nbrc"] * 2


def test_a_section_set_in_some_runs_is_named_by_what_differs(tmp_path):
    runs = [make_run(tmp_path / f"r{i}", seed=i, overrides=overrides) for i, overrides in
            enumerate([[], ["policy.warmup={partial: false}"], ["policy.warmup={partial: true, steps: 100}"]])]
    assert agent_names([read_run(path, "return") for path in runs]) == [
        "ppo nbrc policy.warmup=None", "ppo nbrc policy.warmup.partial=False",
        "ppo nbrc policy.warmup.partial=True"]
    same = [make_run(tmp_path / f"s{i}", seed=i, overrides=overrides) for i, overrides in
            enumerate([[], ["policy.warmup={steps: 50}"], ["policy.warmup={steps: 50}"]])]
    assert agent_names([read_run(path, "return") for path in same]) == [
        "ppo nbrc policy.warmup=None", "ppo nbrc policy.warmup=set", "ppo nbrc policy.warmup=set"]


def test_regret_from_the_bandit_regret_json(tmp_path):
    bandit = {"env.id=brc_rl/MetaBandit-v0", "env.kwargs={}"}
    for seed, regret in [(0, 3.0), (1, 4.0), (2, None)]:
        run = make_run(tmp_path / f"s{seed}", seed=seed, rates=(0.0,), overrides=sorted(bandit))
        if regret is not None:
            (run / "eval" / "regret.json").write_text(json.dumps({"mean_regret": regret, "sem": 0.1}))
    make_run(tmp_path / "tmaze", rates=(1.0,))
    text = format_report(build_report([tmp_path], metric="regret"))
    assert "| ppo nbrc | 2 | 3.50 +- 0.50 | 3.00 (s0*), 4.00 (s1*) |" in text
    assert (f"- {tmp_path / 's2'}: no eval/regret.json: run `brc-rl bandit-regret {tmp_path / 's2'} "
            f"--json {tmp_path / 's2' / 'eval' / 'regret.json'}` first") in text
    assert f"- {tmp_path / 'tmaze'}: regret needs a brc_rl/MetaBandit-v0 run" in text


def test_fps_from_training_json_then_tensorboard_never_file_times(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(tmp_path / "tensorboard" / "ppo_1"))
    writer.add_scalar("time/fps", 1000.0, 10)
    writer.add_scalar("time/fps", 1234.0, 20)
    writer.close()
    assert tensorboard_fps(tmp_path / "tensorboard") == 1234.0
    run = make_run(tmp_path / "run", rates=(1.0, 1.0, 1.0))  # training.json: 30,000 steps in 10 s
    (tmp_path / "tensorboard").rename(run / "tensorboard")
    assert "| 3,000 | 30,000 / 30,000 |" in format_report(build_report([run]))
    # a resumed run: both sessions count (40,000 steps in 20 s)
    RunDir(run).record_training(20000, 30000, 10.0)
    assert [s["end_step"] for s in RunDir(run).training_sessions()] == [30000, 30000]
    assert "| 2,000 | 30,000 / 30,000 |" in format_report(build_report([run]))
    (run / "training.json").write_text("{not json")  # corrupt: tensorboard's time/fps
    with pytest.raises(ValueError, match="cannot read .*training.json"):
        RunDir(run).steps_per_second()
    assert "| 1,234 | 30,000 / 30,000 |" in format_report(build_report([run]))
    (run / "training.json").write_text('{"sessions": [{"start_step": 0, "end_step": "30000", "seconds": 1}]}')
    with pytest.raises(ValueError, match="numeric start_step, end_step and seconds"):
        RunDir(run).training_sessions()
    (run / "training.json").unlink()
    shutil.rmtree(run / "tensorboard")  # neither: unknown, whatever the file times say
    assert "| ? | 30,000 / 30,000 |" in format_report(build_report([run]))


def test_cli_prints_and_writes_report_and_curves(sweep, tmp_path, capsys):
    assert main(["report", str(sweep), "--output", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert printed == format_report(build_report([sweep]))
    report_md = (tmp_path / "out" / "report.md").read_text()
    png = tmp_path / "out" / "brc_rl-TMaze-v0_corridor_length=20_success.png"
    assert f"![brc_rl/TMaze-v0 corridor_length=20]({png.name})" in report_md
    assert png.stat().st_size > 0 and imread(png).ndim == 3
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "brc_rl-TMaze-v0_corridor_length=20_success.png", "brc_rl-TMaze-v0_corridor_length=5_success.png",
        "report.md"]


@pytest.mark.parametrize("argv, message", [
    (["EMPTY"], "no run folder (a folder with config.yaml) in EMPTY"),
    (["EMPTY/missing"], "EMPTY/missing: no such folder"),
    (["EMPTY", "--metric", "regret", "--threshold", "1"], "--threshold needs a learning curve"),
])
def test_cli_errors_are_one_line_and_exit_2(tmp_path, capsys, argv, message):
    (tmp_path / "empty").mkdir()
    argv = [arg.replace("EMPTY", str(tmp_path / "empty")) for arg in argv]
    assert main(["report", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("brc-rl report: error: ") and err.count("\n") == 1
    assert message.replace("EMPTY", str(tmp_path / "empty")) in err


def test_help_imports_neither_torch_nor_matplotlib():
    code = ("import sys; from brc_rl.cli import build_parser; build_parser().format_help(); "
            "print(sorted({'torch', 'matplotlib', 'tensorboard'} & set(sys.modules)))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_keys_that_only_follow_the_algorithm_do_not_name_agents():
    from types import SimpleNamespace

    from brc_rl.experiments.report import agent_names

    runs = [SimpleNamespace(config={"algo": algo, "policy.cell": "lstm", "policy.name": name,
                                    "hyperparams.learning_rate": lr})
            for algo, name, lr in [("ppo", "MlpRecurrentPolicy", 1e-3), ("sb3_contrib_ppo", "MlpLstmPolicy", 1e-3),
                                   ("ppo", "MlpRecurrentPolicy", 3e-4)]]
    assert agent_names(runs) == [  # policy.name follows the algo; the learning rate varies within ppo
        "ppo lstm hyperparams.learning_rate=0.001",
        "sb3_contrib_ppo lstm hyperparams.learning_rate=0.001",
        "ppo lstm hyperparams.learning_rate=0.0003",
    ]
