"""gaussgan as a user meets it in Jupyter: tests/notebook_use.ipynb run with a real kernel (nbclient), as a notebook
server runs it, not through nbdev's execnb. Its outputs must be tables, figures and short texts: no warning, no
error, no text on stderr."""
import nbformat
from nbclient import NotebookClient

from conftest import REPO


def _outputs(cell) -> list[dict]:
    return [dict(output) for output in cell.outputs]


def test_the_user_notebook_shows_tables_and_figures_and_nothing_else(scratch, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the tests' Agg would stop the kernel showing figures inline
    notebook = nbformat.read(REPO / "tests" / "notebook_use.ipynb", as_version=4)
    where = {"metadata": {"path": str(scratch)}}  # the kernel's working directory
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources=where).execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    everything = [output for cell in code for output in _outputs(cell)]
    assert not [o for o in everything if o["output_type"] == "error"]
    assert not [o["text"] for o in everything if o["output_type"] == "stream"]  # nothing printed: no warnings, no logs
    texts = [str(o.get("data", {}).get("text/plain", "")) for o in everything]
    assert not [t for t in texts if "warn" in t.lower() or "Traceback" in t]
    by_source = {cell.source.splitlines()[-1]: _outputs(cell) for cell in code}
    config = by_source["config"][-1]["data"]
    assert config["text/html"].startswith("<table>") and "dataset_size" in config["text/html"]
    assert len(config["text/plain"]) < 300  # the settings that differ, not all of them
    live = [o for o in by_source["result"] if o["output_type"] == "display_data" and "image/png" in o["data"]]
    assert len(live) == 1  # live=1: one picture, redrawn in place after each epoch
    for shown in ("result", "from_memory", "train(config, target=three, seeds=2)"):
        result = by_source[shown][-1]["data"]
        assert "<table>" in result["text/html"] and "data:image/png;base64," in result["text/html"], shown
        assert result["text/plain"].startswith("TrainResult(run ") and len(result["text/plain"]) < 400, shown
    for plot in ("plot_history(result.history);", "plot_samples(result.samples, result.model.metric_context.target);"):
        assert [o["output_type"] for o in by_source[plot]] == ["display_data"], plot  # one figure, shown once
        assert "image/png" in by_source[plot][0]["data"]
    assert by_source["model.sample(3).shape"][-1]["data"]["text/plain"] == "torch.Size([3, 2])"
