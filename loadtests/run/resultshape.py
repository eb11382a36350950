"""The shape of a result.json, checked when it is read back (it may have been edited by hand).

`racecheck check` and `racecheck report` trust what they read only after this: a
key of the wrong type is bad input, named in one line, never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loadtests.errors import UsageError

# Only the verdict must be there (older and minimal results omit the rest); every key
# that is there must have the type racecheck writes (None: the key may be null).
_REQUIRED = ("verdict",)
# key -> the types racecheck writes there.
_TOP: Mapping[str, tuple[type | None, ...]] = {
    "verdict": (str,),
    "reason": (str, None),
    "expected": (str, None),
    "as_expected": (bool, None),
    "exit_code": (int, None),
    "counts": (dict, None),
    "checks": (list, None),
    "final": (dict, None),
    "check_settings": (dict, None),
    "settings": (dict, None),
    "stats": (dict, None),
    "gaps": (list, None),
    "notes": (list, None),
}
_CHECK: Mapping[str, tuple[type | None, ...]] = {
    "name": (str,),
    "status": (str,),
    "detail": (str,),
    "witnesses": (list, None),
    "witness_total": (int, None),
}
_COUNT_KEYS = ("ok", "fail", "info")
_SETTINGS_LISTS = ("choices", "gaps")


def _is(value: Any, kinds: tuple[type | None, ...]) -> bool:
    if value is None:
        return None in kinds
    if isinstance(value, bool) and bool not in kinds:
        return False
    return any(kind is not None and isinstance(value, kind) for kind in kinds)


_JSON_NAMES: Mapping[type, str] = {dict: "an object", list: "an array", str: "a string"}


def _names(kinds: tuple[type | None, ...]) -> str:
    return " or ".join(
        "null" if k is None else _JSON_NAMES.get(k, f"a {k.__name__}") for k in kinds
    )


def validate(data: Any, path: Path) -> dict[str, Any]:
    """``data`` if it has result.json's shape; else a UsageError naming the first bad key."""

    def bad(key: str, what: str) -> UsageError:
        return UsageError(
            f"{path}: {key} {what}; this is not what racecheck writes (was it edited?): "
            "restore it, or run again"
        )

    if not isinstance(data, dict):
        raise bad("the document", "must be a JSON object")
    for key in _REQUIRED:
        if key not in data:
            raise bad(key, "is missing")
    for key, kinds in _TOP.items():
        if key in data and not _is(data[key], kinds):
            raise bad(key, f"must be {_names(kinds)}, not {type(data[key]).__name__}")
    for i, check in enumerate(data.get("checks") or ()):
        if not isinstance(check, dict):
            raise bad(f"checks[{i}]", "must be an object")
        for key, kinds in _CHECK.items():
            if not _is(check.get(key), kinds):
                raise bad(f"checks[{i}].{key}", f"must be {_names(kinds)}")
    for choice, counts in (data.get("counts") or {}).items():
        if not isinstance(counts, dict) or not all(_is(counts.get(k), (int,)) for k in _COUNT_KEYS):
            raise bad(f"counts.{choice}", "must be an object with integer ok, fail and info")
    for key in _SETTINGS_LISTS:
        value = (data.get("check_settings") or {}).get(key)
        if value is not None and not isinstance(value, list):
            raise bad(f"check_settings.{key}", "must be an array")
    final = data.get("final") or {}
    if not _is(final.get("counts"), (dict, None)):
        raise bad("final.counts", "must be an object or null")
    return data
