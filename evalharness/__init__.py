"""evalharness: gate model builds in CI on quality and speed."""

from evalharness.__about__ import __version__

__all__ = ["__version__"]
