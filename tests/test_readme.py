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
    assert f"run: {readme_commands()[1]}" in (REPO / ".github" / "workflows" / "test.yaml").read_text()


def test_the_parts_table_is_made_from_the_notebooks_as_they_are():
    import json
    from gaussgan.site import parts_table
    table = parts_table(REPO / "nbs")
    index = json.loads((REPO / "nbs" / "index.ipynb").read_text())
    kept = ["".join(output["data"]["text/markdown"]) for cell in index["cells"] if "parts_table" in "".join(cell["source"])
            for output in cell.get("outputs", []) if "text/markdown" in output.get("data", {})]
    assert kept == [table], "re-execute nbs/index.ipynb: a chapter's title, summary or module changed"
    readme = (REPO / "README.md").read_text()
    names = [row.split("](")[0].removeprefix("| [") for row in table.splitlines()[2:]]
    assert all(f"| [{name}](https://gaussgan.github.io/gaussgan/" in readme for name in names), "run make_readme.sh"
