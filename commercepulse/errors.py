"""Errors the user can act on: shown as one line (CLI exit 2, Dagster failure), never a traceback."""


class InputError(ValueError):
    """A problem with the input paths or files (missing, unreadable, not the expected layout)."""
