"""The documentation site without Quarto: every notebook renders to one page, with no broken link between pages and
no kept output a reader should not see (24_site)."""
import html
import re
import subprocess
import sys

from conftest import REPO


def test_every_notebook_renders_to_a_page_without_problems(tmp_path):
    out = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "gaussgan.site", str(out)], cwd=REPO, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    notebooks = sorted((REPO / "nbs").rglob("*.ipynb"))
    pages = sorted(out.rglob("*.html"))
    assert len(pages) == len(notebooks), (pages, notebooks)
    index = (out / "index.html").read_text()
    assert '<nav class="site">' in index and 'href="model.html"' in index
    assert "<title>The config – gaussgan</title>" in (out / "config.html").read_text()  # each page its own title
    text = lambda page: html.unescape(re.sub(r"<[^>]+>", "", (out / page).read_text()))
    assert "class Config(PerformanceSettings," in text("config.html")  # the topics it is made of
    assert "passes over the training points" in text("config.html")     # and every field's meaning
    assert "class DataError(GaussGanError):" in text("data.html")  # exceptions as classes, not functions
    assert "['\\n'," not in text("measurements/mode_collapse.html")  # a table's HTML output, not the list of its lines
    findings = (out / "measurements" / "findings.html").read_text()  # a page in a section folder links up and across
    assert 'href="../index.html"' in findings and 'href="benchmarks.html' in findings
