#!/usr/bin/env bash
# README.md from nbs/index.ipynb, offline: nbdev processes the notebooks (Quarto is not needed for
# this step), nbconvert turns the processed index into Markdown, and the front matter becomes a title.
set -euo pipefail
cd "$(dirname "$0")"
nbdev_proc_nbs >/dev/null
jupyter nbconvert --to markdown _proc/index.ipynb --stdout --log-level WARN | python -c '
import re, sys
text = sys.stdin.read()
front, body = re.match(r"---\n(.*?)\n---\n(.*)", text, re.S).groups()
title = re.search(r"^title: (.*)$", front, re.M).group(1)
description = " ".join(re.search(r"^description: (.*?)\n(?=\S)", front + "\nx", re.M | re.S).group(1).split())
# PyPI shows README.md without the site: links to chapters go to their pages on the published site
site = "https://gaussgan.github.io/gaussgan/"
body = re.sub(r"\]\((?:\d+[a-z]?_)?([\w-]+)\.ipynb", lambda m: f"]({site}{m[1]}.html", body)
sys.stdout.write(f"# {title}\n\n> {description}\n" + re.sub(r"\n{3,}", "\n\n", body))
' > README.md
