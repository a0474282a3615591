"""Minutes (biên bản): the text people write, how concurrent edits merge, and when it freezes.

The minutes have fixed fields (number, opening, guests, conclusions) and one field per agenda item
("item:0", "item:1", ...); what the system knows (attendance, votes, speakers) is recomputed into
the document separately (R-MIN-4). Several people (the chair, the minute-taker, a unit leader) may
edit at once: every edit names the version it was made on, and a field changed meanwhile by someone
else is merged three-way, character by character, or the whole edit is refused (nothing applied).
Adopted minutes take no more edits; signed by the chair and the minute-taker they are locked and
hashed, and a correction is a signed addendum that refers to the original (R-MIN-5).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

FIELD_MAX_CHARS = 20_000
FIXED_FIELDS = ("number", "opening", "guests", "conclusions")


def field_names(agenda_size: int) -> frozenset[str]:
    """The fields of the minutes of a meeting with `agenda_size` agenda items."""
    if agenda_size < 0:
        raise ValueError("the agenda size must not be negative")
    return frozenset(FIXED_FIELDS) | {f"item:{index}" for index in range(agenda_size)}


# A change to the base text: base[start:end] is replaced by `text` (an insertion when start == end).
_Region = tuple[int, int, str]


def merge_text(base: str, ours: str, theirs: str) -> str | None:
    """Three-way merge of one text, character by character; None when the two changes conflict.

    `ours` and `theirs` are two edits of `base`. When only one side changed, that side wins; when
    both made the same text, it is taken. Otherwise each side's changes are the regions of `base`
    it replaced, as `difflib.SequenceMatcher(None, base, side, autojunk=False)` finds them once the
    longest prefix and suffix that side shares with `base` are set aside (so an insertion into a run
    of equal characters is placed after the run): a region is the range
    `base[start:end]` and its replacement, an insertion being an empty range (`start == end`).

    A region of ours and a region of theirs *overlap* (the edit conflicts) when:

    - both replace or delete characters (non-empty ranges) and the ranges share a character or
      touch (`start_a <= end_b and start_b <= end_a`): two changes that meet, like two people
      retyping the two halves of one word, are not guessed at;
    - one inserts at a position inside the other's non-empty range or at either of its ends
      (`start_b <= pos <= end_b`): the insertion might belong before or after, or to the text the
      other removed;
    - both insert at the same position: which goes first is not guessed.

    Two overlapping regions that are the very same change (same range, same replacement) are not a
    conflict: the change is made once. Everything else merges: both sets of changes are applied to
    `base`. The result is deterministic and does not depend on which side is "ours".
    """
    if theirs == base:
        return ours
    if ours == base or ours == theirs:
        return theirs
    mine = _regions(base, ours)
    other = _regions(base, theirs)
    shared = set(mine) & set(other)
    # Each side's regions are ordered and never touch each other, so a region can only overlap
    # the last region of the other side that starts at or before it.
    last: dict[int, _Region] = {}
    for region, side in sorted([(a, 0) for a in mine] + [(b, 1) for b in other]):
        if region in shared:
            continue
        before = last.get(1 - side)
        if before is not None and (_overlap(before, region) or _same_word(base, before, region)):
            return None
        last[side] = region
    pieces: list[str] = []
    at = 0
    for start, stop, text in sorted(set(mine) | set(other)):
        pieces.append(base[at:start])
        pieces.append(text)
        at = stop
    pieces.append(base[at:])
    return "".join(pieces)


# difflib's cost grows with the product of the lengths compared (and with repeated characters,
# which natural text is full of): past these sizes texts are compared word by word first.
_CHAR_BUDGET = 1_000_000
_WORD_BUDGET = 4_000_000
_WORD = re.compile(r"\w+\s*|\W\s*")


def _regions(base: str, side: str) -> list[_Region]:
    """The regions of `base` that `side` replaced, in order; no two of them touch.

    The prefix and suffix the two share are set aside first, so that a small edit of a long text
    compares only the part around it. A long remainder is compared word by word (a word with the
    spaces after it, or one other character with them) and each changed run of words then
    character by character; past the word budget too, the whole remainder is one region, which
    can only make a conflict more likely, never a merge wrong.
    """
    limit = min(len(base), len(side))
    prefix = 0
    while prefix < limit and base[prefix] == side[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and base[-1 - suffix] == side[-1 - suffix]:
        suffix += 1
    old, new = base[prefix : len(base) - suffix], side[prefix : len(side) - suffix]
    if len(old) * len(new) <= _CHAR_BUDGET:
        return _diff(old, new, prefix)
    old_words, new_words = _WORD.findall(old), _WORD.findall(new)
    if len(old_words) * len(new_words) > _WORD_BUDGET:
        return [(prefix, prefix + len(old), new)]
    old_at, new_at = _offsets(old_words), _offsets(new_words)
    regions: list[_Region] = []
    matcher = difflib.SequenceMatcher(None, old_words, new_words, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        old_part, new_part = old[old_at[i1] : old_at[i2]], new[new_at[j1] : new_at[j2]]
        start = prefix + old_at[i1]
        if len(old_part) * len(new_part) <= _CHAR_BUDGET:
            # Character by character inside the run: its regions stay between the words both
            # texts keep, so they touch neither each other nor the other runs' regions.
            regions.extend(_diff(old_part, new_part, start))
        else:
            regions.append((start, start + len(old_part), new_part))
    return regions


def _diff(old: str, new: str, offset: int) -> list[_Region]:
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [
        (offset + i1, offset + i2, new[j1:j2])
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def _offsets(words: list[str]) -> list[int]:
    offsets = [0]
    for word in words:
        offsets.append(offsets[-1] + len(word))
    return offsets


def _same_word(base: str, before: _Region, after: _Region) -> bool:
    """Changes of the two sides with no space between them are in one word (or one run of symbols):
    each side's alignment with `base` is found on its own, and inside a word the two alignments can
    place the same characters differently, so merging there can make a word neither side wrote
    ("An" retyped "Anh" and "Ân" is not "Ânh"). Two insertions that remove nothing and could not
    have been placed elsewhere (neither could slide over a neighbouring equal character) are kept
    both, in order: they still merge."""
    if not (_fixed_insertion(base, before) and _fixed_insertion(base, after)):
        gap = base[before[1] : after[0]]
        return not any(character.isspace() for character in gap)
    return False


def _fixed_insertion(base: str, region: _Region) -> bool:
    start, end, text = region
    if start != end or not text:
        return False
    return (start == 0 or base[start - 1] != text[-1]) and (start == len(base) or base[start] != text[0])


def _overlap(a: _Region, b: _Region) -> bool:
    a_start, a_end, _ = a
    b_start, b_end, _ = b
    if a_start == a_end and b_start == b_end:
        return a_start == b_start
    # Non-empty ranges that share or touch a boundary, or an insertion inside or at an end of one.
    return a_start <= b_end and b_start <= a_end


@dataclass(frozen=True)
class EditResult:
    """The outcome of one edit of the minutes: applied whole, or refused whole with the conflicts."""

    applied: bool
    texts: Mapping[str, str]  # the new texts of the fields that change
    merged: tuple[str, ...] = ()  # fields merged three-way with someone else's change
    conflicts: tuple[str, ...] = ()  # fields whose changes overlap (then nothing is applied)


def merge_edit(base: Mapping[str, str], current: Mapping[str, str], changes: Mapping[str, str]) -> EditResult:
    """Merge one edit made on an older version into the current texts, all fields or none.

    `base[f]` is the text of field f at the version the edit names, `current[f]` its text now and
    `changes[f]` the text the editor wants (a missing field is ""). A field nobody else changed
    takes the new text; a field changed meanwhile is merged by `merge_text`; if any field
    conflicts the edit is refused and `conflicts` names every conflicting field (sorted).
    """
    texts: dict[str, str] = {}
    merged: list[str] = []
    conflicts: list[str] = []
    for name in sorted(changes):
        before, ours, theirs = base.get(name, ""), changes[name], current.get(name, "")
        result = merge_text(before, ours, theirs)
        if result is None:
            conflicts.append(name)
            continue
        if theirs != before and ours != before and ours != theirs:
            merged.append(name)
        if result != theirs:
            texts[name] = result
    if conflicts:
        return EditResult(False, {}, (), tuple(conflicts))
    return EditResult(True, texts, tuple(merged), ())


@dataclass
class MinutesLog:
    """The server's handling of minutes edits, without storage: the reference the tests check.

    `revisions[v]` holds the texts version v changed; `outcomes[edit_id]` the first answer to that
    edit, so that a retry after a lost answer gets the same answer and never applies twice.
    """

    version: int = 0
    texts: dict[str, str] = field(default_factory=dict)
    revisions: dict[int, dict[str, str]] = field(default_factory=dict)
    outcomes: dict[str, tuple[EditResult, int]] = field(default_factory=dict)

    def text_at(self, name: str, version: int) -> str:
        """The text of field `name` as it was at `version` ("" before anyone wrote it)."""
        if not 0 <= version <= self.version:
            raise ValueError(f"version {version} is not between 0 and {self.version}")
        for at in range(version, 0, -1):
            revision = self.revisions.get(at)
            if revision is not None and name in revision:
                return revision[name]
        return ""

    def submit(self, edit_id: str, base_version: int, changes: Mapping[str, str]) -> tuple[EditResult, int]:
        """Apply an edit made on `base_version`; returns the outcome and the version after it."""
        if edit_id in self.outcomes:
            return self.outcomes[edit_id]
        if not 0 <= base_version <= self.version:
            raise ValueError(f"version {base_version} is not between 0 and {self.version}")
        base = {name: self.text_at(name, base_version) for name in changes}
        result = merge_edit(base, self.texts, changes)
        if result.applied and result.texts:
            self.version += 1
            self.revisions[self.version] = dict(result.texts)
            self.texts.update(result.texts)
        outcome = (result, self.version)
        self.outcomes[edit_id] = outcome
        return outcome


# Locking (R-MIN-5): the frozen document is hashed over its canonical JSON; an addendum chains to it.


def canonical_json(document: Any) -> str:
    """The one JSON text of a document: sorted keys, no spaces, Vietnamese left as it is."""
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def document_hash(document: Any) -> str:
    """SHA-256 (hex) of the document's canonical JSON in UTF-8: the hash of locked minutes."""
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def addendum_hash(original_hash: str, text: str) -> str:
    """SHA-256 (hex) of the original minutes' hash, a newline and the addendum's text (R-MIN-5)."""
    return hashlib.sha256(f"{original_hash}\n{text}".encode()).hexdigest()


class MinutesStatus(StrEnum):
    DRAFT = "draft"
    ADOPTED = "adopted"
    LOCKED = "locked"


SIGNING_ROLES = ("chair", "minute_taker")


def status_of(adopted: bool, signed_roles: Collection[str]) -> MinutesStatus:
    """Draft until adopted; locked once adopted and signed by the chair and the minute-taker."""
    if not adopted:
        return MinutesStatus.DRAFT
    if all(role in signed_roles for role in SIGNING_ROLES):
        return MinutesStatus.LOCKED
    return MinutesStatus.ADOPTED


def editable(status: MinutesStatus) -> bool:
    """R-MIN-5: only draft minutes take text edits; adopted or locked ones are final."""
    return status is MinutesStatus.DRAFT


def default_number(sequence_in_year: int) -> str:
    """R-MIN-3: the minutes' number, "Số 01-BB/CB", from the meeting's order in the unit's year."""
    return f"Số {sequence_in_year:02d}-BB/CB"


def date_line(place: str, day: date) -> str:
    """R-MIN-3: the place and date line, "Trực tuyến, ngày 15 tháng 11 năm 2026"."""
    return f"{place}, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"
