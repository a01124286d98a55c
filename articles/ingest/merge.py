"""Three-way merge of an article's fields on re-import.

base   = what the last import wrote (`Article.imported`)
ours   = the article's current value (an editor may have changed it)
theirs = the value in the new file
held   = the fields an editor reverted, with the value they reverted to: while a field
         keeps that value it counts as the editor's change even if it equals the base
         (a revert to what the file said), so a file that changes it again conflicts

Pure and tiny: no Django, exhaustively tested in tests/test_merge.py.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Conflict:
    field: str
    ours: object
    theirs: object

    def to_dict(self) -> dict:
        return {"field": self.field, "ours": self.ours, "theirs": self.theirs}


def merge_field(base, ours, theirs, held=False):
    """Return (value to keep, conflict?) for one field; `held`: an editor's revert."""
    if ours == base and not held:
        return theirs, False  # nobody edited it: the file wins
    if theirs == base or ours == theirs:
        return ours, False  # the source did not change it, or both agree
    return ours, True  # both changed it: the editor wins, and it is reported


def merge(base: dict, ours: dict, theirs: dict, held=None) -> tuple[dict, list[Conflict]]:
    """Merge every field of `theirs`; returns (the values to set, the conflicts)."""
    result, conflicts = {}, []
    held = held or {}
    for name, their_value in theirs.items():
        our_value = ours.get(name)
        # A field never imported before has no base: treat the current value as the base.
        base_value = base.get(name, our_value) if base else our_value
        is_held = name in held and held[name] == our_value
        value, conflict = merge_field(base_value, our_value, their_value, is_held)
        result[name] = value
        if conflict:
            conflicts.append(Conflict(name, our_value, their_value))
    return result, conflicts
