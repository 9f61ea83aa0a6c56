"""Benchmark the class server: N real students work through a real JupyterHub at once.

    sudo make benchmark-hub HUB_BENCH_ARGS="--scenario frist --studenter 30 --json /tmp/frist.json"
    sudo make benchmark-hub HUB_BENCH_ARGS="--scenario seminar --studenter 60 --vindu 120 --json /tmp/seminar.json"
    sudo .venv/bin/python scripts/benchmark_hub.py [--scenario frist|seminar] [--studenter N] [--json FILE] ...

The scenarios (``frist``, the deadline, is the default) and what they measure
are described in the package beside this file, scripts/benchmark_hub/: its
``__init__`` gives the overview, ``frist.py`` and ``seminar.py`` one scenario
each. This file is only the entry point.
"""

import sys

# scripts/ is on sys.path (the folder of the script run); a package (scripts/benchmark_hub/)
# is found before a module of the same name, so this imports the package, not this file.
from benchmark_hub.run import main

if __name__ == "__main__":
    sys.exit(main())
