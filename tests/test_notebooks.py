"""Every notebook is a test: run each one's cells (skipping the `tst_flags` ones, such as `slow`), as nbdev_test does."""
import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_notebook  # renamed so pytest does not collect it

from conftest import REPO

NOTEBOOKS = sorted((REPO / "nbs").glob("*.ipynb"))


def test_every_part_has_a_notebook():
    names = {p.stem for p in NOTEBOOKS}
    assert {"index", "00_errors", "00_data", "01_nets", "02_quantum", "03_metrics", "04_model", "05_config", "06_train",
            "07_plots", "08_sweeps", "09_benchmarks", "10_cli", "11_findings"} <= names


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(notebook, monkeypatch):
    monkeypatch.chdir(REPO)
    skip = get_config(path=REPO).tst_flags.split()
    ok, _ = run_notebook(notebook, skip_flags=skip)
    assert ok, f"{notebook.name} failed (its traceback is printed above)"
