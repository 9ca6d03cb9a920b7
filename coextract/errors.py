"""The one exception type users see.

Every error that a user can fix (a missing file, a malformed line, an unknown
dataset) is raised as `CoextractError` with a message that names the file, the
line and what to do, so the command line can print it as one line and exit
non-zero instead of showing a traceback.
"""


class CoextractError(Exception):
    """A problem with the user's input or set-up, explained in the message."""
