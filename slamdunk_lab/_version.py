"""The version of slamdunk_lab: the one place it is written (pyproject.toml reads it through hatch, package.json
must equal it, which a test checks)."""

__version__ = "0.1.0"
