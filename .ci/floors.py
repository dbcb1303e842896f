"""The lowest versions gaussgan allows, from settings.ini: every floor of the runtime requirements and the extras.

    python .ci/floors.py           prints pip constraints pinning each floor (name==floor), for `-c`
    python .ci/floors.py --check   fails unless this environment has exactly those versions installed
"""
import re
import sys
from configparser import ConfigParser
from importlib.metadata import version
from pathlib import Path

cfg = ConfigParser(delimiters=["="])
cfg.read(Path(__file__).resolve().parents[1] / "settings.ini", encoding="utf-8")
keys = ("requirements", "quantum_requirements", "sweep_requirements", "notebook_requirements")
floors = dict(re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", r).groups()
              for r in " ".join(cfg["DEFAULT"][key] for key in keys).split())
if sys.argv[1:] == ["--check"]:
    from packaging.version import Version  # in the checked environment (pip brings it), not needed to print
    wrong = {name: version(name) for name, floor in floors.items() if Version(version(name)) != Version(floor)}
    if wrong: sys.exit(f"not at their floors: {wrong}")
    print(f"all {len(floors)} floors installed: " + ", ".join(f"{n} {f}" for n, f in floors.items()))
else:
    print("\n".join(f"{name}=={floor}" for name, floor in floors.items()))
