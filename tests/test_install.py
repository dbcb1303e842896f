"""The package as `pip install gaussgan` delivers it: a wheel with every module and the console script,
whose runtime needs nothing from the development tools."""
import subprocess
import sys
import zipfile

import pytest

from conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
                   check=True, capture_output=True, cwd=out)
    (path,) = out.glob("gaussgan-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_holds_every_module_and_the_console_script(wheel):
    names = set(wheel.namelist())
    for module in ("errors", "data", "nets", "quantum", "metrics", "model", "config", "train", "plots", "bench", "cli"):
        assert f"gaussgan/{module}.py" in names, module
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "gaussgan = gaussgan.cli:main" in wheel.read(entry_points).decode()


def test_runtime_requirements_exclude_dev_tools(wheel):
    metadata = wheel.read(next(n for n in wheel.namelist() if n.endswith("METADATA"))).decode()
    runtime = [l for l in metadata.splitlines() if l.startswith("Requires-Dist:") and "extra ==" not in l]
    names = {l.split(":", 1)[1].strip().split(" ")[0].split(">")[0].split("=")[0].split("<")[0].lower() for l in runtime}
    assert {"torch", "lightning", "pennylane", "mlflow", "scipy", "matplotlib", "seaborn", "numpy", "pyyaml"} <= names
    assert not names & {"nbdev", "fastcore", "execnb", "pytest"}
    assert any(l.startswith("Requires-Dist: torch>=") and "<2.13" not in l for l in runtime)  # 2.13 satisfies it


def test_import_needs_no_nbdev():
    code = "import sys, gaussgan.cli, gaussgan.train; bad = [m for m in ('nbdev', 'fastcore', 'execnb') if m in sys.modules]; assert not bad, bad"
    subprocess.run([sys.executable, "-c", code], check=True)
