"""Data sets with known structure (synthetic generators; more loaders to come)."""

from ._synthetic import make_shared_private

__all__ = ["make_shared_private"]
