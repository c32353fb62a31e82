"""What a MiniGrid memory-maze agent knows at its decision, and what it does with it.

The decision state: in the end corridor's middle cell, facing the upper or lower object
(in view). The right action is forward if that object matches the cue, else turn back:
an XOR of the remembered cue and the object in view. Playing sampled actions on the
training env, this collects at every decision state the actor memory's output, the
critic's value and the action, then reports linear probes (least squares on half of the
states, accuracy on the other half) for the cue, the object in view and their match, the
critic's mean value when they match and when not, and how often the agent steps forward in
each case. A memory that holds the cue with a policy that ignores it shows high probe
accuracies and the same forward rate for match and mismatch.

    python scripts/minigrid_decision_probe.py RUN_DIR [--steps 20000] [--seed 123]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from brc_rl.experiments.evaluation import load_agent, load_run_config
from brc_rl.experiments.run import make_env

FORWARD = 2  # MiniGrid's action 2, the same with 3 or 7 actions


def probe_accuracy(x: np.ndarray, y: np.ndarray) -> float:
    """Held-out accuracy of a least-squares linear probe of the bool ``y`` from ``x`` (first half fits)."""
    a = np.c_[x, np.ones(len(x))]
    half = len(x) // 2
    w = np.linalg.lstsq(a[:half], y[:half] * 2.0 - 1.0, rcond=None)[0]
    return float(((a[half:] @ w > 0) == y[half:]).mean())


def collect(run_dir: str, steps: int, seed: int) -> dict[str, np.ndarray]:
    config = load_run_config(run_dir)
    agent, _ = load_agent(run_dir, config, device="cpu")
    policy = agent.policy
    env = make_env(config.env, 1, seed, training=True)
    inner = env.envs[0].unwrapped
    rows: dict[str, list] = {k: [] for k in ("memory", "value", "cue", "object", "forward")}
    obs, state, start = env.reset(), policy.initial_state(1), np.ones(1, dtype=bool)
    for _ in range(steps):
        middle = (inner.success_pos[0], inner.height // 2)
        facing = {3: -2, 1: 2}.get(int(inner.agent_dir))  # up, down: the object's row offset
        with torch.no_grad():
            obs_t = {k: torch.as_tensor(v) for k, v in obs.items()} if isinstance(obs, dict) else torch.as_tensor(obs)
            actor, critic, state, _ = policy._sequences(obs_t, state, torch.as_tensor(start).reshape(1, 1))
            action = policy._actor_head(*actor)[0].get_actions(deterministic=False).numpy()
            value = float(policy._critic_head(*critic))
        if tuple(inner.agent_pos) == middle and facing is not None:
            rows["memory"].append(actor[1][0].numpy())
            rows["value"].append(value)
            rows["cue"].append(inner.grid.get(1, inner.height // 2 - 1).type == "key")
            rows["object"].append(inner.grid.get(middle[0], middle[1] + facing).type == "key")
            rows["forward"].append(int(action[0]) == FORWARD)
        obs, _, dones, _ = env.step(action)
        start = dones
    return {k: np.array(v) for k, v in rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=123)
    args = parser.parse_args()
    rows = collect(args.run_dir, args.steps, args.seed)
    match = rows["cue"] == rows["object"]
    print(f"decision states: {len(match)} ({match.mean():.2f} matching)")
    print("| linear probe of the actor memory's output | held-out accuracy |\n|---|---|")
    for name, target in (("cue", rows["cue"]), ("object in view", rows["object"]), ("match", match)):
        print(f"| {name} | {probe_accuracy(rows['memory'], target):.3f} |")
    print("\n| object in view | critic value | P(forward) |\n|---|---|---|")
    for name, where in (("matches the cue", match), ("does not match", ~match)):
        print(f"| {name} | {rows['value'][where].mean():.3f} | {rows['forward'][where].mean():.3f} |")


if __name__ == "__main__":
    main()
