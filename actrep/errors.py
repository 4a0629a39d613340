"""The one exception type for bad input: the CLI prints its message on one line, no traceback."""


class ActRepError(Exception):
    """A user-facing error: bad input, a missing file, an inconsistent setting.

    The message must say what is wrong and where (file and row), e.g.
    ``data/train.csv row 12: count 3 but 2 boundary pairs``.
    """


def where(path, row: int | None = None) -> str:
    """Format a location prefix: ``path`` or ``path row N`` (rows count from 1, header excluded)."""
    return f"{path} row {row}" if row is not None else f"{path}"
