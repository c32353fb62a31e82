"""``brc-rl bandit-baselines``: the printed table and the JSON file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from brc_rl.cli import main

AGENT_KEYS = ["random", "greedy", "thompson", "ucb1", "bayes_optimal"]


def test_prints_the_table_and_writes_the_json(tmp_path, capsys):
    path = tmp_path / "out" / "baselines.json"
    argv = ["bandit-baselines", "--arms", "2", "--pulls", "100", "--prior", "independent"]
    assert main([*argv, "--episodes", "3000", "--seed", "1", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    results = json.loads(path.read_text())
    assert list(results) == AGENT_KEYS
    for name in AGENT_KEYS:
        assert {"regret", "sem"} <= set(results[name])
        row = f"| {name} | {results[name]['regret']:.3f} | {results[name]['sem']:.3f} |"
        assert row in out
    assert "2 arms, 100 pulls, prior independent, 3000 episodes, seed 1" in out
    assert results["random"]["regret"] > results["ucb1"]["regret"] > results["bayes_optimal"]["regret"]
    assert results["bayes_optimal"]["exact"] == pytest.approx(1.748, abs=1e-3)


def test_more_arms_have_no_bayes_optimal_row(tmp_path, capsys):
    path = tmp_path / "k5.json"
    assert main(["bandit-baselines", "--arms", "5", "--pulls", "20", "--episodes", "200", "--json", str(path)]) == 0
    assert list(json.loads(path.read_text())) == AGENT_KEYS[:4]
    assert "bayes_optimal" not in capsys.readouterr().out


def test_invalid_combination_exits_with_an_error(capsys):
    assert main(["bandit-baselines", "--arms", "3", "--prior", "hard", "--episodes", "10"]) == 2
    assert "defined for n_arms=2 only" in capsys.readouterr().err


def test_unknown_prior_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bandit-baselines", "--prior", "beta"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'beta'" in capsys.readouterr().err


def test_runs_as_python_dash_m():
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "brc_rl", "bandit-baselines", "--prior", "easy", "--episodes", "500"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "| bayes_optimal |" in done.stdout and "0.625" in done.stdout
