"""A T-maze that crashes once, for the sweep tests (imported by Ray's workers through its env id)."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym

from brc_rl.envs.tmaze import TMazeEnv

ENV_ID = "tests.experiments.sweep_helpers:CrashOnceTMaze-v0"


class CrashOnceTMaze(TMazeEnv):
    """TMazeEnv whose copy raises after ``crash_after`` steps, once: the first to crash writes ``marker``."""

    def __init__(self, corridor_length: int = 2, crash_after: int | None = None, marker: str = "",
                 render_mode: str | None = None) -> None:
        super().__init__(corridor_length, render_mode=render_mode)
        self.crash_after, self.marker, self.steps = crash_after, Path(marker), 0

    def step(self, action):
        self.steps += 1
        if self.crash_after is not None and self.steps > self.crash_after and not self.marker.exists():
            self.marker.touch()
            raise RuntimeError("simulated crash")
        return super().step(action)


if "CrashOnceTMaze-v0" not in gym.registry:
    gym.register("CrashOnceTMaze-v0", entry_point=CrashOnceTMaze, max_episode_steps=9)
