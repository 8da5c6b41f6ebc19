"""Version of the evalharness package."""

__version__ = "0.1.0"
