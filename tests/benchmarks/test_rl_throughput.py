"""The RL throughput benchmark's summary, table and JSON file (structure, not timings)."""

import json

from benchmarks import rl_throughput as bench


def _row(wall, collect, policy, env):
    return {"wall_s": wall, "steps": 1024, "collect": collect, "train": wall - collect,
            "policy_step": policy, "env_step": env, "policy_calls": 128, "episode_length": 40.0}


def test_summary_has_ratios_shares_and_rollout_split():
    runs = {"nbrc": [_row(1.0, 0.5, 0.25, 0.125)] * 3, "gru": [_row(2.0, 0.5, 0.375, 0.125)] * 3,
            bench.SB3: [_row(4.0, 1.0, 0.5, 0.25)] * 3}
    summary = bench.summarise(runs)
    assert summary["gru"]["ratio_to_nbrc"] == 0.5 and summary["nbrc"]["ratio_to_sb3"] == 4.0
    assert summary["gru"]["train_share"] == 0.75
    assert summary["nbrc"]["rollout_policy_share"] == 0.5 and summary["nbrc"]["rollout_other_share"] == 0.25
    assert summary["nbrc"]["policy_step_us"] == 1e6 * 0.25 / 128
    table = bench.table(summary)
    assert "| gru | 512 | 512 - 512 | 2.00x | 0.50x | 40 | 75% | 25% | 75% / 25% / 0% | 2930 us |" in table


def test_json_keeps_the_default_task_at_the_top_and_others_under_tasks(tmp_path):
    path = tmp_path / "rl.json"
    entry = {"settings": {}, "machine": {}, "runs": {}, "summary": {"nbrc": {}}}
    path.write_text(json.dumps(bench.merge_entry(path, "brc_rl/TMaze-v0", entry)))
    path.write_text(json.dumps(bench.merge_entry(path, bench.DEFAULT_ENV, {**entry, "summary": {}})))
    content = json.loads(path.read_text())
    assert content["summary"] == {} and content["tasks"]["brc_rl/TMaze-v0"] == entry
    assert set(bench.TASKS) == {bench.DEFAULT_ENV, "brc_rl/TMaze-v0"}
