"""What the tests share: a scratch folder for every test that writes runs (never the repository), the command as a
user runs it, small networks for quick runs, and what a one-line error looks like."""
import os
import subprocess
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    "A fresh working directory for the test (MLflow's SQLite store and run folders land here)."
    monkeypatch.chdir(tmp_path)
    return tmp_path


SMALL = ["--generator-widths", "32,32", "--critic-widths", "32,32", "--dataset-size", "2000", "--no-progress-bar"]


def gaussgan(*args, cwd):
    "The installed `gaussgan` command, run in `cwd`."
    return subprocess.run(["gaussgan", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def assert_one_line_error(status, stdout, stderr, message, expected_status=2):
    "An error as users must see it: exit 2 (usage) or 1 (runtime), one line on stderr naming the problem, no traceback."
    assert status == expected_status
    assert message in stderr
    assert stderr.count("\n") == 1 and stderr.startswith("gaussgan: error: "), stderr
    assert "Traceback" not in stderr and stdout == ""
