"""Every notebook is a test: run each one's cells (skipping the `tst_flags` ones, such as `slow`), as nbdev_test does.
CI runs the notebooks here only, once (the README's test command is the whole suite)."""
import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_notebook  # renamed so pytest does not collect it

from conftest import REPO

NOTEBOOKS = sorted(p for p in (REPO / "nbs").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def test_every_part_has_a_notebook():
    names = {p.relative_to(REPO / "nbs").with_suffix("").as_posix() for p in NOTEBOOKS}
    parts = ("errors", "phases", "data", "sources", "quantum", "nets", "metrics", "plots", "losses", "model", "settings",
             "config", "build", "tracking", "callbacks", "checkpoints", "preflight", "results", "train", "sweep", "timing",
             "bench", "refine", "cli", "site")
    assert {f"{n:02d}_{part}" for n, part in enumerate(parts)} | {"08b_step", "08c_saving", "09b_ensemble",
                                                                  "11b_presets",
                                                                  "index", "tutorial", "measurements/findings",
                                                                  "measurements/benchmarks",
                                                                  "measurements/mode_collapse",
                                                                  "measurements/quantum_comparison"} == names


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.relative_to(REPO / "nbs").with_suffix("").as_posix())
def test_notebook_runs(notebook, monkeypatch):
    monkeypatch.chdir(REPO)
    skip = get_config(path=REPO).tst_flags.split()
    ok, _ = run_notebook(notebook, skip_flags=skip)
    assert ok, f"{notebook.name} failed (its traceback is printed above)"
