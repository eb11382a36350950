"""The harness's exceptions.

    RacecheckError                  anything racecheck raises on purpose
     ├── UsageError                 bad input from the user (CLI flag, target file): exit 2
     │    └── TargetFileError       a target file names a bad key or value
     ├── UnsafeTargetError          load would leave loopback without --allow-remote: exit 2
     └── HarnessError               the harness itself could not run: verdict ERROR, exit 4
          ├── LaunchError           a server did not start or never became ready
          └── HistoryError          a history file is malformed or cannot be merged

Every message says what happened and what to do next.
"""

from __future__ import annotations


class RacecheckError(Exception):
    """Base class for every error racecheck raises on purpose."""


class UsageError(RacecheckError):
    """The user asked for something that cannot work; the message says how to fix it."""


class TargetFileError(UsageError):
    """A target file is invalid; the message names the key and what it expects."""


class UnsafeTargetError(UsageError):
    """Load would be sent off the loopback interface without --allow-remote."""


class HarnessError(RacecheckError):
    """The harness itself failed, so no verdict about the target is possible."""


class LaunchError(HarnessError):
    """A target or Locust process did not start, or never became ready."""


class HistoryError(HarnessError):
    """A history could not be read, written or merged exactly."""
