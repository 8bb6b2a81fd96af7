"""What the fuzzers send (tests/web/test_fuzz.py in-process, tests/service/test_fuzz_service.py
over HTTP to a live service): one set of strategies for both."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Any text, control characters, lone surrogates aside (a browser cannot send them),
# and the shapes a parser might choke on.
text = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=60),
    st.sampled_from(
        [
            "9999-12-31",
            "0001-01-01",
            "2025-02-30",
            "-1",
            "1e309",
            "NaN",
            "\x00",
            "%00",
            "model_a",
            "tie",
            "python",
            "overall",
            "language:",
            "x" * 300,
            "../../etc/passwd",
        ]
    ),
)
params = st.dictionaries(
    st.sampled_from(["scope", "from", "to", "window", "winner", "q", "page", "o"]), text
)
json_bodies = st.recursive(
    st.none() | st.booleans() | st.integers() | text,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(text, c, max_size=3),
    max_leaves=8,
)
