"""The README's promises: exactly two commands, and CI runs the test one verbatim."""
import re

from conftest import REPO


def readme_commands():
    return re.findall(r"```sh\n(pip install[^\n]*)\n```", (REPO / "README.md").read_text())


def test_readme_states_two_setup_commands_installing_cpu_torch_first():
    commands = readme_commands()
    assert len(commands) == 2, commands
    assert all(c.startswith("pip install torch==2.13.0 && ") for c in commands)
    assert commands[0].endswith("gaussgan train") and commands[1].endswith("python -m pytest")


def test_ci_runs_the_readme_test_command():
    assert readme_commands()[1] in (REPO / ".ci" / "run").read_text()
