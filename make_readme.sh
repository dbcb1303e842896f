#!/usr/bin/env bash
# README.md from nbs/index.ipynb, offline: nbdev processes the notebooks (Quarto is not needed for
# this step), nbconvert turns the processed index into Markdown, and the front matter becomes a title.
set -euo pipefail
cd "$(dirname "$0")"
nbdev_proc_nbs >/dev/null 2>&1
# cells marked `echo: false` show their output only, as on the site
python -c '
import nbformat
nb = nbformat.read("_proc/index.ipynb", as_version=4)
nb.metadata["language_info"] = {"name": "python"}  # code fences say python whether or not the kernel left it
for cell in nb.cells:
    if cell.cell_type == "code" and "#| echo: false" in cell.source: cell.metadata["tags"] = ["remove_input"]
nbformat.write(nb, "_proc/index.readme.ipynb")
'
jupyter nbconvert --to markdown _proc/index.readme.ipynb --stdout --log-level WARN \
  --TagRemovePreprocessor.enabled=True --TagRemovePreprocessor.remove_input_tags remove_input | python -c '
import re, sys
text = sys.stdin.read()
front, body = re.match(r"---\n(.*?)\n---\n(.*)", text, re.S).groups()
title = re.search(r"^title: (.*)$", front, re.M).group(1)
description = " ".join(re.search(r"^description: (.*?)\n(?=\S)", front + "\nx", re.M | re.S).group(1).split())
# PyPI shows README.md without the site: links to chapters go to their pages on the published site
site = "https://gaussgan.github.io/gaussgan/"
body = re.sub(r"\]\(((?:[\w-]+/)*)(?:\d+[a-z]?_)?([\w-]+)\.ipynb", lambda m: f"]({site}{m[1]}{m[2]}.html", body)
# and pictures to the copy in the repository, which GitHub and PyPI both show
body = body.replace("](images/", "](https://raw.githubusercontent.com/gaussgan/gaussgan/main/nbs/images/")
sys.stdout.write(f"# {title}\n\n> {description}\n" + re.sub(r"\n{3,}", "\n\n", body))
' > README.md
