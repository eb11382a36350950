"""Credentials in a URL never reach a run file or the console: ``user:***@host``.

A ``--target-url`` may carry a password (``http://alice:s3cret@127.0.0.1:5000``); the
requests need it, the run's record does not. The user name stays (it says which
account was used), the password becomes ``***``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

HIDDEN = "***"


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``; unchanged when it has none."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    user, _, _ = parts.netloc.rpartition("@")[0].partition(":")
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{HIDDEN}@{host}"))


_CREDENTIALS = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^/\s@]*@")


def redact_text(text: str) -> str:
    """Every ``scheme://user:password@`` inside ``text`` with the password hidden."""
    return _CREDENTIALS.sub(rf"\g<1>{HIDDEN}@", text)
