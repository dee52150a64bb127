"""One sandbox per test module: starting checkers and zygotes costs a second or two."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assay.sandbox import ProcessSandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ProcessSandbox]:
    with ProcessSandbox(workers=2) as box:
        yield box
