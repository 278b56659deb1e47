"""Shared paths for the tests. ctest sets ERAFORMER_LIBRARY (the built liberaformer.so),
EF_SHARED_DIR and EF_SOURCE_DIR; run by hand, the defaults are the source tree's own layout
(and <source>/build/liberaformer.so when ERAFORMER_LIBRARY is unset)."""
import os

import pytest

SOURCE_DIR = os.environ.get("EF_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED_DIR = os.environ.get("EF_SHARED_DIR") or os.path.join(SOURCE_DIR, "..", "shared")

if not os.environ.get("ERAFORMER_LIBRARY"):
    _default = os.path.join(SOURCE_DIR, "build", "liberaformer.so")
    if os.path.exists(_default):
        os.environ["ERAFORMER_LIBRARY"] = _default


@pytest.fixture(scope="session")
def shared_dir():
    return SHARED_DIR


@pytest.fixture(scope="session")
def source_dir():
    return SOURCE_DIR
