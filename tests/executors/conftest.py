from __future__ import annotations

import pytest

from executors import ExecutorUnavailable, get_backend
from executors.backends.bwrap import BwrapBackend


@pytest.fixture(scope="session")
def bwrap() -> BwrapBackend:
    try:
        backend = get_backend("bwrap")
    except ExecutorUnavailable as error:
        pytest.skip(f"bubblewrap sandbox unavailable here: {error}")
    assert isinstance(backend, BwrapBackend)
    return backend
