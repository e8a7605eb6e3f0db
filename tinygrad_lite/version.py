"""The library's version, in one place: pyproject.toml reads it, and saved files record it."""
__version__ = "0.1.0"
