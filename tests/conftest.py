"""Shared fixtures: every test that writes runs in its own scratch folder, never in the repository."""
import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    "A fresh working directory for the test (MLflow's SQLite store and run folders land here)."
    monkeypatch.chdir(tmp_path)
    return tmp_path
