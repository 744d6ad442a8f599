from __future__ import annotations

from collections.abc import Iterator

import pytest

from errorwave.training.tensors import threads


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """These networks are small: one intra-op thread is faster, and fair to a shared machine."""
    with threads(1):
        yield
