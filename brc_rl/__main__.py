import sys

from brc_rl.cli import main

sys.exit(main())
