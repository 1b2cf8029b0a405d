from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
# ../shared beside the checkout holds the full reference outputs and the benchmark corpora.
SHARED = Path(os.environ.get("KNESER_SHARED", Path(__file__).parents[2] / "shared"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent")
    return SHARED
