"""``lin_<start>`` schedules of learning_rate, clip_range and ent_coef in configs."""

from __future__ import annotations

import re

import pytest
from stable_baselines3.common.callbacks import BaseCallback

from brc_rl.experiments.config import ConfigError, algo_hyperparams, config_from_dict, parse_schedule
from brc_rl.experiments.run import resume, train
from tests.experiments.test_run import TINY, Crash

SCHEDULED = dict(TINY, hyperparams=dict(TINY["hyperparams"], ent_coef="lin_0.1", learning_rate="lin_0.001",
                                        clip_range="lin_0.2"))


def test_lin_is_a_linear_decay_to_zero_over_the_progress_remaining():
    schedule = parse_schedule("hyperparams.ent_coef", "lin_0.04")
    assert [schedule(p) for p in (1.0, 0.75, 0.5, 0.0)] == pytest.approx([0.04, 0.03, 0.02, 0.0])
    assert algo_hyperparams({"gamma": 0.9, "ent_coef": 0.01}) == {"gamma": 0.9, "ent_coef": 0.01}
    assert algo_hyperparams({"learning_rate": "lin_1e-3"})["learning_rate"](0.5) == pytest.approx(5e-4)


@pytest.mark.parametrize("value", ["lin_x", "lin_-0.1", "lin_nan", "lin_inf", "linear_0.1", "0.1"])
def test_a_malformed_schedule_names_the_key_and_the_expected_form(value):
    data = dict(TINY, hyperparams=dict(TINY["hyperparams"], ent_coef=value))
    with pytest.raises(ConfigError, match=r"'hyperparams.ent_coef': expected a number or 'lin_<start>'"):
        config_from_dict(data)


def test_lin_on_a_key_without_schedules_lists_the_keys_that_take_one():
    data = dict(TINY, hyperparams=dict(TINY["hyperparams"], gamma="lin_0.99"))
    with pytest.raises(ConfigError, match="'hyperparams.gamma': only learning_rate, clip_range, ent_coef take"):
        config_from_dict(data)


def logged(run_dir, tag: str, algo: str = "ppo") -> dict[int, float]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tensorboard" / f"{algo}_1"))
    events.Reload()
    return {event.step: event.value for event in events.Scalars(tag)}


def test_sb3_contrib_follows_an_entropy_schedule_across_a_resume(tmp_path):
    # sb3-contrib's RecurrentPPO takes a float: the schedule is applied before each update
    data = dict(SCHEDULED, algo="sb3_contrib_ppo", policy={"hidden_size": 8})
    config = config_from_dict(data)
    assert config.hyperparams["ent_coef"] == "lin_0.1"  # kept as written
    run_dir = tmp_path / "run"
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(data, run_dir=run_dir, callbacks=[Crash(80)])
    resume(run_dir)
    expected = {s: 0.1 * (1 - s / 128) for s in (32, 64, 96, 128)}
    assert logged(run_dir, "train/ent_coef", "sb3_contrib_ppo") == pytest.approx(expected)
    assert logged(run_dir, "train/learning_rate", "sb3_contrib_ppo") == pytest.approx(
        {s: 1e-3 * v / 0.1 for s, v in expected.items()})


def test_a_run_follows_the_schedules_across_a_resume(tmp_path):
    # rollouts of 32 steps, total 128: the update after step s reads progress 1 - s / 128
    run_dir = tmp_path / "run"
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(SCHEDULED, run_dir=run_dir, callbacks=[Crash(80)])
    resume(run_dir)
    expected = {s: 1 - s / 128 for s in (32, 64, 96, 128)}
    assert logged(run_dir, "train/ent_coef") == pytest.approx({s: 0.1 * p for s, p in expected.items()})
    assert logged(run_dir, "train/learning_rate") == pytest.approx({s: 1e-3 * p for s, p in expected.items()})
    assert logged(run_dir, "train/clip_range") == pytest.approx({s: 0.2 * p for s, p in expected.items()})


MINIGRID = {"id": "brc_rl/MiniGridMemory-v0", "kwargs": {"size": 7, "n_actions": 3}, "n_envs": 2,
            "schedules": {"cue_start_prob": "lin_0.8"}}


def test_env_schedules_set_the_training_envs_attribute_at_each_rollout_across_a_resume(tmp_path):
    class Recorded(BaseCallback):
        def _on_rollout_start(self) -> None:
            seen.append(self.training_env.get_attr("cue_start_prob"))

        def _on_step(self) -> bool:
            return True

    seen: list[list[float]] = []
    run_dir = train(dict(TINY, env=MINIGRID, eval_freq=0, total_timesteps=64), run_dir=tmp_path / "run",
                    callbacks=[Recorded()])
    # rollouts of 32 steps start at progress remaining 1 and 0.5: 0.8 * progress, in every env
    assert seen == [[0.8, 0.8], [0.4, 0.4]]
    seen.clear()
    resume(run_dir, ["total_timesteps=128"], callbacks=[Recorded()])  # on along the same line: 64, 96 of 128
    assert seen == [pytest.approx([0.4, 0.4]), pytest.approx([0.2, 0.2])]
    # logged with the rollout it applied to, at the step that rollout ends (and at 0)
    assert logged(run_dir, "env/cue_start_prob") == pytest.approx({0: 0.8, 32: 0.8, 64: 0.4, 96: 0.4, 128: 0.2})


@pytest.mark.parametrize("schedules, message", [
    ({"cue_start": "lin_1.0"}, "'env.schedules.cue_start': brc_rl/MiniGridMemory-v0 takes no argument 'cue_start'"),
    ({"cue_start_prob": "exp_1.0"}, "'env.schedules.cue_start_prob': expected a number or 'lin_<start>'"),
])
def test_a_bad_env_schedule_names_the_key_and_what_is_valid(schedules, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        config_from_dict(dict(TINY, env=dict(MINIGRID, schedules=schedules)))


def test_an_env_attribute_that_is_not_a_float_is_not_scheduled(tmp_path):
    tmaze = dict(TINY["env"], schedules={"corridor_length": "lin_2"})  # an int: never set to a float
    with pytest.raises(ConfigError, match="'env.schedules.corridor_length': the environment's attribute "
                                          "'corridor_length' is 2; a schedule sets a float"):
        train(dict(TINY, env=tmaze), run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()  # refused before the run folder is written


def test_a_scheduled_name_the_env_does_not_keep_as_an_attribute_is_refused(tmp_path):
    minigrid = dict(MINIGRID, schedules={"n_actions": "lin_3"})  # a constructor argument only
    with pytest.raises(ConfigError, match="'env.schedules.n_actions': the environment has no attribute 'n_actions'"):
        train(dict(TINY, env=minigrid), run_dir=tmp_path / "run")
