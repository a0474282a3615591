"""quality.md R9 in the pure domain: several editors edit the same section of the minutes at once,
each from the version it holds, and submit in random interleavings (meetings/minutes.py `MinutesLog`).

Each editor keeps a fetched copy (a version and its texts) and types on it: it inserts a unique token
at some place or deletes a token someone wrote (whole tokens: see `delete_token`). It submits when the rules
say so; a refused edit (a conflict) is answered with the current version and texts, and the editor
makes its changes again on them and retries later. Invariants, after every step:

- every submission is either applied or refused as a conflict naming the section, and either way the
  answer carries the current version;
- no silent loss: the tokens in the document are exactly those an applied edit inserted minus those
  an applied edit deleted (a later edit that replaced that very token, the domain's rule); the text
  around the tokens is never touched; nothing appears twice;
- the history is stable: the text at the version an editor holds is still the text it was given;
- at the end, every editor that fetches the document holds the same bytes as the log.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from meetings.minutes import MinutesLog, canonical_json
from tests.reliability import node_id, record

RELIABILITY_ROW = "R9"  # its line in docs/reliability.md, even when it fails before measuring

SECTION = "item:0"
OTHER = "conclusions"  # sometimes changed in the same edit: the edit applies whole or not at all
FILLER = {
    SECTION: "Bí thư chi bộ báo cáo kết quả tháng trước; đảng viên thảo luận, góp ý.",
    OTHER: "Chi bộ thống nhất.",
}
TOKEN = re.compile(r"⟨e\d+-\d+⟩")
EDITORS = 4


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def boundaries(text: str) -> list[int]:
    """The places a token may go: anywhere but inside another token."""
    inside = {at for match in TOKEN.finditer(text) for at in range(match.start() + 1, match.end())}
    return [at for at in range(len(text) + 1) if at not in inside]


@dataclass
class Editor:
    version: int
    texts: dict[str, str]  # the fetched copy: the texts at `version`
    local: dict[str, str]  # what the editor sees on screen: the copy with its own changes
    inserted: list[tuple[str, str, int]] = field(default_factory=list)  # (field, token, place pick)
    removed: set[str] = field(default_factory=set)  # tokens of others it deleted

    @property
    def dirty(self) -> bool:
        return bool(self.inserted or self.removed)

    def take(self, version: int, texts: dict[str, str]) -> None:
        """A fetch, or the current document carried by an answer: its changes made again on it."""
        self.version, self.texts = version, dict(texts)
        self.local = dict(texts)
        self.removed = {t for t in self.removed if any(t in text for text in texts.values())}
        for name, token, pick in self.inserted:
            self.local[name] = insert(self.local[name], token, pick)
        for token in self.removed:
            for name in self.local:
                self.local[name] = self.local[name].replace(token, "")


def insert(text: str, token: str, pick: int) -> str:
    places = boundaries(text)
    at = places[pick % len(places)]
    return text[:at] + token + text[at:]


@dataclass
class Tally:
    submissions: int = 0
    applied: int = 0
    conflicts: int = 0
    merged: int = 0
    examples: int = 0


TALLY = Tally()


class ConcurrentSectionEdits(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.log = MinutesLog()
        self.editors: list[Editor] = []
        self.counter = 0
        self.live: set[str] = set()  # applied insertions minus applied deletions: what must be there
        self.ever_applied: set[str] = set()
        self.history: dict[int, dict[str, str]] = {}  # version -> texts, as answers gave them
        TALLY.examples += 1

    @initialize()
    def start(self) -> None:
        result, version = self.log.submit("filler", 0, FILLER)
        assert result.applied and version == 1
        self.history[1] = dict(self.log.texts)
        self.editors = [Editor(1, dict(self.log.texts), dict(self.log.texts)) for _ in range(EDITORS)]

    # The start and the end of the section are where people type most: picks 0 and -1 are common.
    @rule(
        who=st.integers(0, EDITORS - 1),
        pick=st.one_of(st.sampled_from([0, -1]), st.integers(0, 10_000)),
        name=st.sampled_from([SECTION] * 5 + [OTHER]),
    )
    def type_token(self, who: int, pick: int, name: str) -> None:
        editor = self.editors[who]
        self.counter += 1
        token = f"⟨e{who}-{self.counter}⟩"
        editor.local[name] = insert(editor.local[name], token, pick)
        editor.inserted.append((name, token, pick))

    # Whole tokens only: two editors who both retype the same word are merged character by character
    # into a word neither wrote, both told "applied" (the defect reported with issue 28's R9 tests:
    # merge_text("Nguyễn Văn An", "Nguyễn Văn Anh", "Nguyễn Văn Ân") == "Nguyễn Văn Ânh"); retyping
    # in place joins this machine once the domain refuses that merge.
    @rule(who=st.integers(0, EDITORS - 1), pick=st.integers(0, 10_000))
    def delete_token(self, who: int, pick: int) -> None:
        editor = self.editors[who]
        present = tokens(editor.local[SECTION])
        if not present:
            return
        token = present[pick % len(present)]
        own = [entry for entry in editor.inserted if entry[1] == token]
        if own:
            editor.inserted.remove(own[0])  # typed and deleted before sending: nothing to send
        else:
            editor.removed.add(token)
        editor.local[SECTION] = editor.local[SECTION].replace(token, "")

    @rule(who=st.integers(0, EDITORS - 1))
    def submit(self, who: int) -> None:
        editor = self.editors[who]
        if not editor.dirty:
            return
        self.counter += 1
        changes = {name: text for name, text in editor.local.items() if text != editor.texts[name]}
        before = self.log.version
        result, version = self.log.submit(f"edit-{self.counter}", editor.version, changes)
        TALLY.submissions += 1
        # Either way the answer carries the current version (a conflict's is the one to retry from).
        assert version == self.log.version
        current = dict(self.log.texts)
        assert self.history.setdefault(version, current) == current, "a version's texts changed"
        if result.applied:
            TALLY.applied += 1
            TALLY.merged += bool(result.merged)
            event("applied after a three-way merge" if result.merged else "applied")
            assert version == before + (1 if result.texts else 0)
            for name, token, _ in editor.inserted:
                assert current[name].count(token) == 1, f"applied {token} not in the document"
                self.live.add(token)
                self.ever_applied.add(token)
            for token in editor.removed:
                assert all(token not in text for text in current.values()), f"deleted {token} still there"
                self.live.discard(token)
            editor.inserted, editor.removed = [], set()
        else:
            TALLY.conflicts += 1
            event("refused as a conflict")
            assert result.conflicts and set(result.conflicts) <= set(changes), result
            assert result.texts == {} and version == before, "a refused edit changed something"
        editor.take(version, current)

    @rule(who=st.integers(0, EDITORS - 1))
    def fetch(self, who: int) -> None:
        """A reload: the current document, the editor's unsent changes made again on it."""
        self.editors[who].take(self.log.version, self.log.texts)

    @invariant()
    def nothing_lost_nothing_invented(self) -> None:
        if not self.editors:
            return
        found = [token for text in self.log.texts.values() for token in tokens(text)]
        assert len(found) == len(set(found)), "a token appears twice"
        assert set(found) == self.live, (
            f"lost {sorted(self.live - set(found))}, invented {sorted(set(found) - self.live)}"
        )
        for name, text in self.log.texts.items():
            assert TOKEN.sub("", text) == FILLER[name], "text outside the tokens changed"

    @invariant()
    def history_is_stable(self) -> None:
        for editor in self.editors:
            for name, text in editor.texts.items():
                assert self.log.text_at(name, editor.version) == text

    @rule()
    def everyone_settles(self) -> None:
        self.settle()

    def settle(self) -> None:
        """Every editor retries until its changes are in (each retry from the version it was given),
        then fetches: all hold the same bytes as the log."""
        for _ in range(4 * EDITORS):
            if not any(editor.dirty for editor in self.editors):
                break
            for who, editor in enumerate(self.editors):
                if editor.dirty:
                    self.submit(who)
        assert not any(editor.dirty for editor in self.editors), "an editor could never apply its edit"
        document = canonical_json(self.log.texts).encode()
        for who in range(EDITORS):
            self.fetch(who)
        assert {canonical_json(editor.texts).encode() for editor in self.editors} == {document}
        assert {editor.version for editor in self.editors} == {self.log.version}

    def teardown(self) -> None:
        if self.editors:
            self.settle()


def run(request: pytest.FixtureRequest, *, tier: str, examples: int, steps: int) -> None:
    global TALLY
    TALLY = Tally()
    started = time.monotonic()
    failure: BaseException | None = None
    try:
        run_state_machine_as_test(
            ConcurrentSectionEdits,
            settings=settings(
                max_examples=examples,
                stateful_step_count=steps,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    except BaseException as error:  # recorded first, raised again below
        failure = error
    seconds = time.monotonic() - started
    record(
        "R9",
        node_id(request),
        attacked=(
            f"{EDITORS} editors of one section of the pure minutes log (meetings/minutes.py) typing, "
            "deleting and replacing tokens from the versions they hold, submitting in random "
            "interleavings (hypothesis RuleBasedStateMachine), conflicts retried from the answer's version"
        ),
        attempts=TALLY.submissions,
        failures=0 if failure is None else 1,
        figure=(
            f"{TALLY.examples} interleavings of up to {steps} steps in {seconds:.0f} s: "
            f"{TALLY.applied} applied ({TALLY.merged} three-way merged), {TALLY.conflicts} conflicts "
            f"answered with the current version; "
            + (
                "0 silent losses, every editor ends with the log's bytes"
                if failure is None
                else f"FAILED: {failure!r}"[:300]
            )
        ),
        tier=tier,
    )
    if failure is not None:
        raise failure


# The fast tier's machine runs here; it found a defect, fixed in meetings/minutes.py (`_same_word`):
# `merge_text` aligns each side with `base` on its own, and in text that repeats itself (tokens such as
# "⟨e0-5⟩⟨e0-6⟩") the two alignments could disagree and the merge kept neither side's intent, yet
# reported it applied. Changes of the two sides in one word are now a conflict (regression examples in
# tests/unit/test_minutes.py).
@pytest.mark.reliability
def test_interleaved_edits_of_one_section_lose_nothing(request: pytest.FixtureRequest) -> None:
    # The loaded profile's example count ("ci" 200, "nightly" 10,000; tests/conftest.py).
    run(request, tier="fast", examples=settings().max_examples, steps=50)


@pytest.mark.slow
@pytest.mark.reliability
@pytest.mark.timeout(1200)  # about 5 minutes here
def test_ten_thousand_interleavings_lose_nothing(request: pytest.FixtureRequest) -> None:
    run(request, tier="slow", examples=max(10_000, settings().max_examples), steps=50)
