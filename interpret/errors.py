"""The one exception type users see.

Every check on user input raises :class:`InputError` with a single sentence that says what
is wrong and how to fix it; the CLI prints that sentence alone (no traceback unless
``--debug``) and exits non-zero.
"""


class InputError(ValueError):
    """A problem with what the user gave us (file, array, option), stated as one line."""
