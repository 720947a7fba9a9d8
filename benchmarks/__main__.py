"""``python -m benchmarks``: the speed harness (see ``run.py``)."""

from benchmarks.run import main

main()
