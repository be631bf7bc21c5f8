"""What a write query returns: its counts, first error, generated keys and changes, shaped as RethinkDB returns them;
and the limit RethinkDB puts on the arrays of a stored document.
"""

from __future__ import annotations

from typing import Any

# RethinkDB's own limit for stored arrays, whatever a query's `array_limit`.
DISK_ARRAY_LIMIT = 100_000
TOO_LARGE_FOR_DISK = "Array too large for disk writes (limit 100,000 elements)."


def fits_on_disk(value: Any) -> bool:
    """Whether every array in `value` (at any depth) is within the limit RethinkDB puts on stored arrays."""
    if isinstance(value, list):
        return len(value) <= DISK_ARRAY_LIMIT and all(fits_on_disk(item) for item in value)
    if isinstance(value, dict):
        return all(fits_on_disk(item) for item in value.values())
    return True


class WriteResult:
    """Counts, errors and changes of one write query, shaped as RethinkDB returns them."""

    def __init__(self, return_changes: bool | str, array_limit: int) -> None:
        self.counts = dict.fromkeys(("deleted", "errors", "inserted", "replaced", "skipped", "unchanged"), 0)
        self.first_error: str | None = None
        # RethinkDB checks every document of an insert before it writes any: those errors come first.
        self.first_check_error: str | None = None
        self.generated_keys: list[str] = []
        self.return_changes = return_changes
        self.changes: list[dict[str, Any]] = []
        # RethinkDB truncates `changes` and `generated_keys` to the array limit and says so in `warnings`.
        self.array_limit = array_limit

    def record(self, kind: str, old: Any = None, new: Any = None) -> None:
        self.counts[kind] += 1
        if self.return_changes == "always" or (self.return_changes and kind in ("inserted", "replaced", "deleted")):
            self.changes.append({"new_val": new, "old_val": old})

    def error(self, message: str, old: Any = None, new: Any = None, *, check: bool = False) -> None:
        self.counts["errors"] += 1
        if check and self.first_check_error is None:
            self.first_check_error = message
        if self.first_error is None:
            self.first_error = message
        if self.return_changes == "always":
            self.changes.append({"error": message, "new_val": new, "old_val": old})

    def value(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.counts)
        if self.first_error is not None:
            out["first_error"] = self.first_check_error or self.first_error
        warnings = []
        limit = self.array_limit
        if self.generated_keys:
            out["generated_keys"] = self.generated_keys[:limit]
            if len(self.generated_keys) > limit:
                warnings.append(f"Too many generated keys ({len(self.generated_keys)}), array truncated to {limit}.")
        if self.return_changes:
            out["changes"] = self.changes[:limit]
            if len(self.changes) > limit:
                warnings.append(f"Too many changes, array truncated to {limit}.")
        if warnings:
            out["warnings"] = warnings
        return out
