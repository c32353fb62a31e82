"""Training-step speed of BRC and nBRC against torch.nn.GRU (and LSTM), one process.

Usage: python benchmarks/cell_speed.py [--repeats 5] [--threads 2] [--json PATH]
Same as ``brc-rl bench speed``; see brc_rl/nn/bench.py for the protocol.
"""

import argparse
import sys

from brc_rl.nn import bench

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_arguments(parser)
    sys.exit(bench.main(parser.parse_args()))
