"""Property-based fuzzing (hypothesis) of the chat channels and the staff API.

`IOP_FUZZ_EXAMPLES` sets the examples per test (default 150 in the suite; the figure in
docs/evaluation.md is from a run with 2,000): `IOP_FUZZ_EXAMPLES=2000 pytest tests/fuzz`.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("IOP_FUZZ_EXAMPLES", "150"))

# A real server answers each example: no per-example deadline, no "too slow" health check, and
# no example database (the suite runs from a clean clone; failures print their example).
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
