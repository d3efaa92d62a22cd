"""conftest.py — the fault tests use the integration tests' harness
(tests/integration/harness.py): the same stack, real workers and clients."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))
from harness import *  # noqa: E402,F401,F403  (pytest finds the fixtures by name here)
