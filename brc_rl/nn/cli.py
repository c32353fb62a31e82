"""``brc-rl bench speed``: the cells' training-step speed against torch.nn.GRU."""

from __future__ import annotations

from brc_rl.nn import bench


def register(subparsers) -> None:
    parser = subparsers.add_parser("bench", help="benchmarks of brc-rl's components")
    kinds = parser.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)
    speed = kinds.add_parser(
        "speed",
        help="training step of BRC / nBRC / LSTM against torch.nn.GRU (ratios, one process)",
        description=bench.__doc__,
    )
    bench.add_arguments(speed)
    speed.set_defaults(func=bench.main)
