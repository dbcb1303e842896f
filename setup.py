"""Packaging for gaussgan: every value comes from settings.ini, the one place nbdev also reads."""
from configparser import ConfigParser

import setuptools

config = ConfigParser(delimiters=["="])
config.read("settings.ini", encoding="utf-8")
cfg = config["DEFAULT"]

licenses = {"apache2": "Apache-2.0"}  # settings.ini's (nbdev's) name → the SPDX expression PyPI shows
statuses = ["1 - Planning", "2 - Pre-Alpha", "3 - Alpha", "4 - Beta", "5 - Production/Stable", "6 - Mature", "7 - Inactive"]
python_versions = ["3.11", "3.12", "3.13"]
min_python = cfg["min_python"]
extras = {name: cfg[f"{name}_requirements"].split() for name in ("quantum", "sweep", "notebook")}
extras["all"] = sum(extras.values(), [])
extras["dev"] = extras["all"] + cfg["dev_requirements"].split()  # the tests and docs use every feature

setuptools.setup(
    name=cfg["lib_name"],
    version=cfg["version"],
    description=cfg["description"],
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    author=cfg["author"],
    author_email=cfg["author_email"],
    url=cfg["git_url"],
    license_expression=licenses[cfg["license"]],
    license_files=["LICENSE"],
    keywords=cfg["keywords"].split(),
    classifiers=[
        "Development Status :: " + statuses[int(cfg["status"]) - 1],  # status 3 is "3 - Alpha"
        "Intended Audience :: " + cfg["audience"],
        "Natural Language :: " + cfg["language"],
    ] + ["Programming Language :: Python :: " + v for v in python_versions[python_versions.index(min_python):]],
    python_requires=">=" + min_python,
    packages=setuptools.find_packages(include=[cfg["lib_path"], cfg["lib_path"] + ".*"]),
    include_package_data=True,
    install_requires=cfg["requirements"].split(),
    extras_require=extras,
    entry_points={
        "console_scripts": cfg["console_scripts"].split(),
        "nbdev": [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"],
    },
    zip_safe=False,
)
