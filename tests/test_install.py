"""The package as `pip install gaussgan` delivers it: a wheel with every module and the console script,
whose runtime needs nothing from the development tools."""
import os
import subprocess
import sys
import zipfile

import pytest

from conftest import REPO, assert_one_line_error


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
                   check=True, capture_output=True, cwd=out)
    (path,) = out.glob("gaussgan-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_holds_every_module_and_the_console_script(wheel):
    names = set(wheel.namelist())
    modules = {p.stem for p in (REPO / "gaussgan").glob("*.py")} - {"__init__", "_modidx"}
    assert {"errors", "sources", "nets", "model", "config", "build", "tracking", "train", "bench", "cli"} <= modules
    for module in modules:
        assert f"gaussgan/{module}.py" in names, module
    assert "gaussgan/py.typed" in names  # type checkers read the package's annotations
    assert "gaussgan/example_space.yaml" in names  # gaussgan sweep --space example
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "gaussgan = gaussgan.cli:main" in wheel.read(entry_points).decode()


def test_runtime_requirements_exclude_dev_tools(wheel):
    metadata = wheel.read(next(n for n in wheel.namelist() if n.endswith("METADATA"))).decode()
    runtime = [l for l in metadata.splitlines() if l.startswith("Requires-Dist:") and "extra ==" not in l]
    names = {l.split(":", 1)[1].strip().split(" ")[0].split(">")[0].split("=")[0].split("<")[0].lower() for l in runtime}
    assert {"torch", "lightning", "mlflow", "scipy", "matplotlib", "numpy", "pyyaml"} <= names
    assert not names & {"nbdev", "execnb", "pytest"}
    assert not names & {"pennylane", "optuna", "sqlalchemy", "seaborn", "pot"}  # extras, or not needed at all
    extras = [l for l in metadata.splitlines() if l.startswith("Requires-Dist:") and "extra ==" in l]
    for extra, package in [("quantum", "pennylane"), ("sweep", "optuna"), ("sweep", "sqlalchemy"),
                           ("all", "optuna"), ("all", "pennylane"), ("notebook", "ipywidgets"), ("dev", "pennylane")]:
        assert any(package in l and f'extra == "{extra}"' in l for l in extras), (extra, package)
    assert "fastcore" in names  # the model's methods are added with its `patch` (a small library, no dependencies)
    assert any(l.startswith("Requires-Dist: torch>=") and "<2.13" not in l for l in runtime)  # 2.13 satisfies it


def test_import_needs_no_nbdev():
    code = ("import sys, gaussgan.cli, gaussgan.train, gaussgan.bench, gaussgan.site; "
            "bad = [m for m in ('nbdev', 'execnb', 'nbconvert') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_sdist_builds_a_wheel_that_installs_and_trains_in_a_fresh_venv(tmp_path):
    """What `pip install gaussgan` from PyPI will do: the sdist (as uploaded) builds the wheel, which installs into
    a fresh virtual environment (CPU torch first) without PennyLane, Optuna or seaborn, and trains classical and
    built-in quantum runs from the installed console script; the extras' features name the extra to install."""
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--sdist", "-o", str(dist), str(REPO)], check=True,
                   capture_output=True)
    (sdist,) = dist.glob("gaussgan-*.tar.gz")
    # the wheel is built from the unpacked sdist alone, in an isolated environment from [build-system]
    subprocess.run([sys.executable, "-m", "build", "--wheel", "-o", str(dist), str(sdist)], check=True,
                   capture_output=True)
    (wheel,) = dist.glob("gaussgan-*.whl")
    check = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    metadata = zipfile.ZipFile(wheel).read(next(n for n in zipfile.ZipFile(wheel).namelist()
                                                if n.endswith("METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in metadata and "Development Status :: 3 - Alpha" in metadata
    assert any(n.endswith("licenses/LICENSE") for n in zipfile.ZipFile(wheel).namelist())

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "torch==2.13.0"], check=True, capture_output=True)
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    version = subprocess.run([str(venv / "bin" / "gaussgan"), "--version"], capture_output=True, text=True, env=env)
    assert version.stdout.strip() == f"gaussgan {wheel.name.split('-')[1]}", version.stdout + version.stderr
    absent = subprocess.run([str(venv / "bin" / "python"), "-c", "import importlib.util as u; print([m for m in "
                             "('pennylane', 'optuna', 'seaborn', 'ot') if u.find_spec(m)])"],
                            capture_output=True, text=True)
    assert absent.stdout.strip() == "[]", absent.stdout + absent.stderr  # the core install has none of them
    gaussgan = lambda *args: subprocess.run([str(venv / "bin" / "gaussgan"), *args], cwd=work, capture_output=True,
                                            text=True, env=env)
    run = gaussgan("train", "--max-epochs", "1", "--no-progress-bar", "--dataset-size", "2000")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "finished" in run.stdout and (work / "mlflow.db").exists() and list((work / "runs").iterdir())
    quantum = gaussgan("train", "--max-epochs", "1", "--no-progress-bar", "--dataset-size", "500",
                       "--noise", "quantum_samples")  # gaussgan's own simulator: no PennyLane needed
    assert quantum.returncode == 0 and "finished" in quantum.stdout, quantum.stdout[-2000:] + quantum.stderr[-2000:]
    for args, extra in [(["train", "--noise", "quantum_samples", "--quantum-device", "default.qubit"], "quantum"),
                        (["sweep", "--space", "space.yaml"], "sweep")]:
        missing = gaussgan(*args, "--max-epochs", "1", "--no-progress-bar")
        assert_one_line_error(missing.returncode, missing.stdout, missing.stderr, f"pip install 'gaussgan[{extra}]'")
    docs_tool = subprocess.run([str(venv / "bin" / "python"), "-c", "import gaussgan.site, importlib.util; "
                                "assert importlib.util.find_spec('nbdev') is None"], capture_output=True, text=True)
    assert docs_tool.returncode == 0, docs_tool.stderr  # the docs module imports without the docs tool installed
