"""An entropy coefficient schedule in RecurrentPPO / RecurrentA2C (SB3 takes only a float)."""

from __future__ import annotations

import pytest
from stable_baselines3.common.utils import LinearSchedule

from brc_rl.agents import RecurrentA2C, RecurrentPPO
from brc_rl.envs import TMazeEnv

KWARGS = dict(n_steps=8, policy_kwargs=dict(cell="gru", hidden_size=4, net_arch=[4]), seed=0)


@pytest.mark.parametrize("algo", [RecurrentPPO, RecurrentA2C])
def test_the_entropy_coefficient_follows_its_schedule_and_survives_save_load(algo, tmp_path):
    extra = dict(batch_size=8, n_epochs=1) if algo is RecurrentPPO else {}
    model = algo("MlpRecurrentPolicy", TMazeEnv(2), ent_coef=LinearSchedule(0.2, 0.0, 1.0), **KWARGS, **extra)
    assert model.ent_coef == pytest.approx(0.2)  # before any update: the start value
    model.learn(24)  # updates after steps 8, 16, 24 read progress 1 - s / 24
    assert model.ent_coef == pytest.approx(0.0)
    model.save(tmp_path / "model")
    loaded = algo.load(tmp_path / "model")
    assert loaded.ent_coef_schedule(0.5) == pytest.approx(0.1)
    constant = algo("MlpRecurrentPolicy", TMazeEnv(2), ent_coef=0.05, **KWARGS, **extra).learn(16)
    assert constant.ent_coef == 0.05 and constant.ent_coef_schedule is None
