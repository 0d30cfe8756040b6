"""Sphinx configuration for the skmmvae documentation.

Build with (the gallery's examples run during the build, a few minutes on 2 cores)::

    python -m pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs /tmp/skmmvae-docs
"""

import os
import sys

# autodoc imports skmmvae from the repository root, so the docs build without an install.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import skmmvae  # noqa: E402

project = "skmmvae"
author = "skmmvae developers"
copyright = "skmmvae developers, BSD-3-Clause"
version = skmmvae.__version__
release = skmmvae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]

# the example gallery: examples/plot_*.py run at build time (about 1-1.5 minutes on 2
# CPU cores); the generated pages go to docs/auto_examples/, which git ignores
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "show_memory": False,
}

templates_path = []
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "sg_execution_times.rst"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
language = "en"

# autodoc / autosummary
# api.rst lists the public names with autosummary tables (no :toctree:) and documents
# them with autoclass / autofunction on the same page, so no stub files are generated
# inside the source tree.
autosummary_generate = False
autodoc_default_options = {"inherited-members": False}
autodoc_typehints = "none"
autodoc_member_order = "bysource"

# numpydoc
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

html_theme = "alabaster"
html_static_path = []
html_title = f"skmmvae {release}"
