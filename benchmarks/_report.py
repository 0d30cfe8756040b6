"""What every benchmark script writes: the machine line and the report itself."""

from __future__ import annotations

import os
import platform

import sklearn
import torch


def machine(device="cpu"):
    """``Machine: <platform>, <n> CPUs, torch .., scikit-learn .., Python .., <device>``."""
    return (
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"scikit-learn {sklearn.__version__}, Python {platform.python_version()}, {device}"
    )


def emit(text, out=None):
    """Print the Markdown report and write it to ``out`` when given."""
    print(text)
    if out:
        with open(out, "w") as fh:
            fh.write(text)
