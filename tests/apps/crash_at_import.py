"""An app module that raises while it is imported: the launcher must fail fast."""

from __future__ import annotations

raise RuntimeError("tiny app crashed at import on purpose")
