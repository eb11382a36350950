"""The client machine's own limits: a vote that failed for want of a file descriptor.

Such a vote was never sent (``fail``), and it says nothing about the target: the
run is the harness's failure (ERROR, exit 4), with how to raise the limit.
"""

from __future__ import annotations

from collections.abc import Mapping

from loadtests.files import raise_open_files
from loadtests.history import Op

# strerror of EMFILE ("Too many open files") and ENFILE ("... in system").
_OUT_OF_FILES = "Too many open files"


def out_of_files(op: Op) -> str | None:
    """The harness error for an op that failed because this process ran out of files."""
    if op.type != "fail" or not isinstance(op.value, Mapping):
        return None
    if _OUT_OF_FILES not in str(op.value.get("error", "")):
        return None
    return f"the load stopped: this machine ran out of file descriptors ({_OUT_OF_FILES}); " + (
        raise_open_files()
    )
