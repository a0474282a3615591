"""Minutes: three-way merging of concurrent edits, the edit log, hashing and status (R-MIN-3, R-MIN-5)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from meetings.minutes import (
    FIELD_MAX_CHARS,
    FIXED_FIELDS,
    SIGNING_ROLES,
    EditResult,
    MinutesLog,
    MinutesStatus,
    addendum_hash,
    canonical_json,
    date_line,
    default_number,
    document_hash,
    editable,
    field_names,
    merge_edit,
    merge_text,
    status_of,
)

BASE = "Chi bộ họp thường kỳ"
NAME = "Nguyễn Văn An"  # precomposed (NFC)
NAME_NFD = unicodedata.normalize("NFD", NAME)

MERGE_CASES = [
    pytest.param(
        BASE,
        "Hôm nay " + BASE,
        BASE + " tháng 11.",
        "Hôm nay " + BASE + " tháng 11.",
        id="R-MIN-1 typing at the start and at the end merges",
    ),
    pytest.param(
        "Đồng chí An phát biểu. Đồng chí Bình phát biểu.",
        "Đồng chí An phát biểu về kinh tế. Đồng chí Bình phát biểu.",
        "Đồng chí An phát biểu. Đồng chí Bình phát biểu về xây dựng Đảng.",
        "Đồng chí An phát biểu về kinh tế. Đồng chí Bình phát biểu về xây dựng Đảng.",
        id="R-MIN-1 two speakers' paragraphs edited separately merge",
    ),
    pytest.param(
        "một hai ba bốn năm sáu",
        "hai ba bốn năm sáu",
        "một hai ba bốn năm",
        "hai ba bốn năm",
        id="R-MIN-1 deletions at both ends merge",
    ),
    pytest.param(
        BASE, "Chi bộ họp A thường kỳ", "Chi bộ họp B thường kỳ", None, id="R-MIN-1 same place conflicts"
    ),
    pytest.param(
        BASE,
        "Chi bộ họp chuyên đề",
        "Chi bộ họp chuyên đề",
        "Chi bộ họp chuyên đề",
        id="R-MIN-1 identical change taken once",
    ),
    pytest.param(
        "Chi bộ họp thường kỳ, có khách mời.",
        "Chi bộ họp chuyên đề, có khách mời. Hết.",
        "Chi bộ họp chuyên đề, có khách mời.",
        "Chi bộ họp chuyên đề, có khách mời. Hết.",
        id="R-MIN-1 identical change plus a separate one merges",
    ),
    pytest.param(
        BASE,
        "Chi bộ",
        "Chi bộ họp thường xuyên kỳ",
        None,
        id="R-MIN-1 insertion inside a deleted range conflicts",
    ),
    pytest.param(
        "abcdef",
        "aXcdef",
        "abYdef",
        None,
        id="R-MIN-1 replacements that touch conflict",
    ),
    pytest.param(
        "abcdef",
        "abXdef",
        "abcYdef",
        None,
        id="R-MIN-1 insertion at the end of the other's replaced range conflicts",
    ),
    pytest.param(BASE, BASE, BASE + "!", BASE + "!", id="R-MIN-1 ours unchanged takes theirs"),
    pytest.param(BASE, BASE + "!", BASE, BASE + "!", id="R-MIN-1 theirs unchanged takes ours"),
    pytest.param(BASE, BASE, BASE, BASE, id="R-MIN-1 nobody changed"),
    pytest.param("", "mở đầu", "", "mở đầu", id="R-MIN-1 first text into an empty field"),
    pytest.param("", "mở đầu", "kết luận", None, id="R-MIN-1 two first texts into an empty field conflict"),
    pytest.param(
        f"Đồng chí {NAME} chủ trì.",
        f"Đồng chí {NAME_NFD} chủ trì.",
        f"Đồng chí {NAME} chủ trì. Thư ký ghi biên bản.",
        f"Đồng chí {NAME_NFD} chủ trì. Thư ký ghi biên bản.",
        id="R-MIN-1 Vietnamese precomposed turned combining merges with an edit elsewhere",
    ),
    pytest.param(
        "Nguyen Van An, bi thu",
        "Nguyễn Van An, bi thu",
        "Nguyen Van An, bí thư",
        "Nguyễn Van An, bí thư",
        id="R-MIN-1 Vietnamese diacritics added in two words merge",
    ),
    pytest.param(
        "Nguyen Van An",
        "Nguye\u0302\u0303n Van An",
        "Nguye\u0302\u0301n Van An",
        None,
        id="R-MIN-1 Vietnamese two different combining tones on one letter conflict",
    ),
    pytest.param(
        "Nguyen Van An",
        "Nguye\u0302\u0303n Van An",
        "Nguyen Van An\u0309",
        "Nguye\u0302\u0303n Van An\u0309",
        id="R-MIN-1 Vietnamese combining marks on different letters merge",
    ),
]


@pytest.mark.parametrize(("base", "ours", "theirs", "expected"), MERGE_CASES)
def test_merge_text(base: str, ours: str, theirs: str, expected: str | None) -> None:
    assert merge_text(base, ours, theirs) == expected
    assert merge_text(base, theirs, ours) == expected


def test_merge_text_long_texts_are_quick() -> None:
    base = "Đảng viên phát biểu ý kiến. " * 700  # ~20,000 characters
    ours = "Mở đầu. " + base
    theirs = base + "Kết luận."
    assert merge_text(base, ours, theirs) == "Mở đầu. " + base + "Kết luận."


def test_merge_text_long_texts_compare_word_by_word() -> None:
    words = "đảng viên chi bộ họp thường kỳ bí thư báo cáo kết quả tháng trước thảo luận nghị quyết".split()
    base = " ".join(words[(index * 7) % len(words)] for index in range(1500))  # ~6,000 characters
    ours, theirs = base.replace("họp", "HỌP"), base.replace("thảo", "THẢO")
    assert merge_text(base, ours, theirs) == base.replace("họp", "HỌP").replace("thảo", "THẢO")
    assert merge_text(base, ours, base.replace("họp", "hop")) is None


VI_TEXT = st.text(alphabet="ab ăâđêôơư\u0300\u0301\u0303.", max_size=24)


@settings(max_examples=200)
@given(VI_TEXT, VI_TEXT)
def test_merge_text_theirs_unchanged_gives_ours(base: str, ours: str) -> None:
    assert merge_text(base, ours, base) == ours


@settings(max_examples=200)
@given(VI_TEXT, VI_TEXT)
def test_merge_text_ours_unchanged_gives_theirs(base: str, theirs: str) -> None:
    assert merge_text(base, base, theirs) == theirs


@settings(max_examples=300)
@given(VI_TEXT, VI_TEXT, VI_TEXT)
def test_merge_text_is_symmetric(base: str, ours: str, theirs: str) -> None:
    assert merge_text(base, ours, theirs) == merge_text(base, theirs, ours)


@settings(max_examples=300)
@given(
    st.data(),
    VI_TEXT,
    st.text(alphabet="XYZ", min_size=1, max_size=4),
    st.text("XYZ", min_size=1, max_size=4),
)
def test_merge_text_insertions_at_different_places_both_kept(
    data: st.DataObject, base: str, mine: str, other: str
) -> None:
    first = data.draw(st.integers(0, len(base)))
    second = data.draw(st.integers(0, len(base)).filter(lambda at: at != first))
    ours = base[:first] + mine + base[first:]
    theirs = base[:second] + other + base[second:]
    low, high = sorted([(first, mine), (second, other)])
    expected = base[: low[0]] + low[1] + base[low[0] : high[0]] + high[1] + base[high[0] :]
    assert merge_text(base, ours, theirs) == expected


def test_field_names() -> None:
    assert field_names(0) == frozenset(FIXED_FIELDS)
    assert field_names(2) == {"number", "opening", "guests", "conclusions", "item:0", "item:1"}
    with pytest.raises(ValueError):
        field_names(-1)
    assert FIELD_MAX_CHARS == 20_000


EDIT_CASES = [
    pytest.param(
        {"opening": "a"},
        {"opening": "a"},
        {"opening": "b"},
        EditResult(True, {"opening": "b"}, (), ()),
        id="R-MIN-1 field nobody else changed takes the new text",
    ),
    pytest.param(
        {"opening": "chi bộ họp"},
        {"opening": "chi bộ họp, khai mạc"},
        {"opening": "Hôm nay chi bộ họp"},
        EditResult(True, {"opening": "Hôm nay chi bộ họp, khai mạc"}, ("opening",), ()),
        id="R-MIN-1 field changed meanwhile is merged three-way",
    ),
    pytest.param(
        {"opening": "x", "guests": "khách"},
        {"opening": "y", "guests": "khách"},
        {"opening": "z", "guests": "khách mời"},
        EditResult(False, {}, (), ("opening",)),
        id="R-MIN-1 one conflicting field refuses the whole edit",
    ),
    pytest.param(
        {"opening": "x", "guests": "g"},
        {"opening": "y", "guests": "h"},
        {"opening": "z", "guests": "i", "item:0": "mục"},
        EditResult(False, {}, (), ("guests", "opening")),
        id="R-MIN-1 every conflicting field is named, sorted",
    ),
    pytest.param(
        {"opening": "x"},
        {"opening": "y"},
        {"opening": "y"},
        EditResult(True, {}, (), ()),
        id="R-MIN-1 a change someone already made changes nothing",
    ),
    pytest.param(
        {},
        {},
        {"item:0": "Bí thư báo cáo."},
        EditResult(True, {"item:0": "Bí thư báo cáo."}, (), ()),
        id="R-MIN-1 missing fields are empty",
    ),
]


@pytest.mark.parametrize(("base", "current", "changes", "expected"), EDIT_CASES)
def test_merge_edit(
    base: dict[str, str], current: dict[str, str], changes: dict[str, str], expected: EditResult
) -> None:
    assert merge_edit(base, current, changes) == expected


def test_minutes_log_versions_and_retries() -> None:
    log = MinutesLog()
    first, version = log.submit("e1", 0, {"opening": "chi bộ họp"})
    assert first.applied and version == 1 and log.texts == {"opening": "chi bộ họp"}
    merged, version = log.submit("e2", 0, {"guests": "khách"})
    assert merged.applied and version == 2
    late, version = log.submit("e3", 1, {"opening": "Hôm nay chi bộ họp"})
    assert late.applied and version == 3 and log.texts["opening"] == "Hôm nay chi bộ họp"
    stale, version = log.submit("e4", 1, {"opening": "Chi bộ họp"})
    assert not stale.applied and stale.conflicts == ("opening",) and version == 3
    assert log.submit("e3", 1, {"opening": "Hôm nay chi bộ họp"}) == (late, 3)  # retry: same answer
    assert log.version == 3
    assert log.text_at("opening", 0) == "" and log.text_at("opening", 2) == "chi bộ họp"
    assert log.text_at("guests", 3) == "khách"
    noop, version = log.submit("e5", 3, {"guests": "khách"})
    assert noop.applied and noop.texts == {} and version == 3
    with pytest.raises(ValueError):
        log.submit("e6", 4, {"opening": "x"})
    with pytest.raises(ValueError):
        log.text_at("opening", 4)


# A stateful check of the edit log with three writers who each keep a local copy, type tokens and
# lose answers: nothing acknowledged is lost, nothing refused appears, nothing appears twice, and
# everyone ends up with the server's text.

FIELDS = ("opening", "item:0")
FILLER = {
    "opening": "Đồng chí Nguyễn Văn An tuyên bố lý do, giới thiệu đại biểu.",
    "item:0": "Bí thư chi bộ báo cáo kết quả tháng trước; đảng viên thảo luận.",
}
TOKEN = re.compile(r"⟨w\d+-\d+⟩")
WRITERS = 3


def _tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def _boundaries(text: str) -> list[int]:
    inside = {at for match in TOKEN.finditer(text) for at in range(match.start() + 1, match.end())}
    return [at for at in range(len(text) + 1) if at not in inside]


class Writer:
    def __init__(self, version: int, texts: dict[str, str]) -> None:
        self.version, self.texts = version, dict(texts)
        self.pending: tuple[str, int, dict[str, str], str, str] | None = (
            None  # id, base, changes, token, field
        )


class MinutesEditing(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.log = MinutesLog()
        self.writers: list[Writer] = []
        self.counter = 0
        self.acked: dict[str, str] = {}  # token -> field
        self.refused: set[str] = set()
        self.applied: dict[str, str] = {}  # token -> field, every edit the server applied
        self.first_outcome: dict[str, tuple[EditResult, int]] = {}

    @initialize()
    def start(self) -> None:
        result, version = self.log.submit("filler", 0, FILLER)
        assert result.applied and version == 1
        self.writers = [Writer(self.log.version, self.log.texts) for _ in range(WRITERS)]

    # Typing at the very start or end is common, so that two writers often type at the same place.
    @rule(
        writer=st.integers(0, WRITERS - 1),
        name=st.sampled_from(FIELDS),
        pick=st.one_of(st.sampled_from([0, -1]), st.integers(0, 10_000)),
    )
    def type_token(self, writer: int, name: str, pick: int) -> None:
        copy = self.writers[writer]
        if copy.pending is not None:
            return  # one unacknowledged edit at a time
        self.counter += 1
        token = f"⟨w{writer}-{self.counter}⟩"
        text = copy.texts[name]
        places = _boundaries(text)
        at = places[pick % len(places)]
        copy.texts[name] = text[:at] + token + text[at:]
        copy.pending = (f"edit-{self.counter}", copy.version, {name: copy.texts[name]}, token, name)

    def _submit(self, copy: Writer) -> tuple[EditResult, int]:
        assert copy.pending is not None
        edit_id, base, changes, token, name = copy.pending
        outcome = self.log.submit(edit_id, base, changes)
        if edit_id in self.first_outcome:
            assert outcome == self.first_outcome[edit_id], "a retry must get the first answer"
        else:
            self.first_outcome[edit_id] = outcome
            if outcome[0].applied:
                self.applied[token] = name
        return outcome

    def _answer(self, copy: Writer, result: EditResult) -> None:
        assert copy.pending is not None
        _, _, _, token, name = copy.pending
        if result.applied:
            self.acked[token] = name
            event("edit acknowledged" + (" after a three-way merge" if result.merged else ""))
        else:
            event("edit refused")
            assert result.conflicts == (name,)
            self.refused.add(token)  # the writer is told the edit was refused
        copy.pending = None
        copy.version, copy.texts = self.log.version, dict(self.log.texts)

    @rule(writer=st.integers(0, WRITERS - 1))
    def send(self, writer: int) -> None:
        copy = self.writers[writer]
        if copy.pending is not None:
            result, _ = self._submit(copy)
            self._answer(copy, result)

    @rule(writer=st.integers(0, WRITERS - 1))
    def lose_answer(self, writer: int) -> None:
        copy = self.writers[writer]
        if copy.pending is not None:
            self._submit(copy)  # committed (or refused), but the answer never arrives

    @rule(writer=st.integers(0, WRITERS - 1))
    def reconnect(self, writer: int) -> None:
        copy = self.writers[writer]
        if copy.pending is not None and copy.pending[0] in self.first_outcome:
            result, _ = self._submit(copy)
            self._answer(copy, result)

    @rule(writer=st.integers(0, WRITERS - 1))
    def refresh(self, writer: int) -> None:
        copy = self.writers[writer]
        if copy.pending is None:
            copy.version, copy.texts = self.log.version, dict(self.log.texts)

    @invariant()
    def nothing_lost_or_doubled(self) -> None:
        if not self.writers:
            return
        everywhere = [token for name in FIELDS for token in _tokens(self.log.texts[name])]
        assert len(everywhere) == len(set(everywhere)), "a token appears twice"
        for name in FIELDS:
            found = _tokens(self.log.texts[name])
            assert {token for token, where in self.applied.items() if where == name} == set(found)
            assert TOKEN.sub("", self.log.texts[name]) == FILLER[name], "text outside the tokens changed"
        for token, name in self.acked.items():
            assert self.log.texts[name].count(token) == 1, f"acknowledged {token} lost"
        for token in self.refused:
            assert all(token not in self.log.texts[name] for name in FIELDS), f"refused {token} applied"

    @precondition(lambda self: bool(self.writers))
    @rule()
    def everyone_converges(self) -> None:
        self._converge()

    def _converge(self) -> None:
        for copy in self.writers:
            if copy.pending is not None:
                result, _ = self._submit(copy)
                self._answer(copy, result)
        for copy in self.writers:
            copy.version, copy.texts = self.log.version, dict(self.log.texts)
            assert copy.texts == self.log.texts
        assert set(self.acked) == set(self.applied)

    def teardown(self) -> None:
        if self.writers:
            self._converge()


MinutesEditing.TestCase.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
test_minutes_editing = MinutesEditing.TestCase


def test_canonical_json_is_stable_under_key_order() -> None:
    one = {"b": 1, "a": {"y": [1, 2], "x": "Biên bản"}}
    two = {"a": {"x": "Biên bản", "y": [1, 2]}, "b": 1}
    assert canonical_json(one) == canonical_json(two) == '{"a":{"x":"Biên bản","y":[1,2]},"b":1}'
    assert document_hash(one) == document_hash(two)
    assert len(document_hash(one)) == 64 and document_hash(one) != document_hash({"b": 2})


def test_addendum_hash_chains_to_the_original() -> None:
    import hashlib

    original = document_hash({"number": "Số 01-BB/CB"})
    expected = hashlib.sha256(f"{original}\nĐính chính: số đảng viên có mặt là 12.".encode()).hexdigest()
    assert addendum_hash(original, "Đính chính: số đảng viên có mặt là 12.") == expected
    assert addendum_hash(original, "a") != addendum_hash(document_hash({}), "a")


@pytest.mark.parametrize(
    ("adopted", "signed", "status", "can_edit"),
    [
        pytest.param(False, (), MinutesStatus.DRAFT, True, id="R-MIN-5 draft is editable"),
        pytest.param(False, SIGNING_ROLES, MinutesStatus.DRAFT, True, id="R-MIN-5 not adopted stays a draft"),
        pytest.param(True, (), MinutesStatus.ADOPTED, False, id="R-MIN-5 adopted takes no edits"),
        pytest.param(
            True, ("chair",), MinutesStatus.ADOPTED, False, id="R-MIN-5 one signature is not a lock"
        ),
        pytest.param(
            True,
            ("minute_taker",),
            MinutesStatus.ADOPTED,
            False,
            id="R-MIN-5 minute-taker alone is not a lock",
        ),
        pytest.param(
            True, {"minute_taker", "chair"}, MinutesStatus.LOCKED, False, id="R-MIN-5 both signatures lock"
        ),
    ],
)
def test_status_of(adopted: bool, signed: tuple[str, ...], status: MinutesStatus, can_edit: bool) -> None:
    assert status_of(adopted, signed) is status
    assert editable(status) is can_edit


@pytest.mark.parametrize(
    ("sequence", "number"),
    [
        pytest.param(1, "Số 01-BB/CB", id="R-MIN-3 first meeting of the year"),
        pytest.param(12, "Số 12-BB/CB", id="R-MIN-3 twelfth meeting"),
        pytest.param(105, "Số 105-BB/CB", id="R-MIN-3 three digits"),
    ],
)
def test_default_number(sequence: int, number: str) -> None:
    assert default_number(sequence) == number


@pytest.mark.parametrize(
    ("place", "day", "line"),
    [
        pytest.param(
            "Trực tuyến", date(2026, 11, 15), "Trực tuyến, ngày 15 tháng 11 năm 2026", id="R-MIN-3 online"
        ),
        pytest.param(
            "Hà Nội", date(2027, 3, 5), "Hà Nội, ngày 05 tháng 03 năm 2027", id="R-MIN-3 zero padded"
        ),
    ],
)
def test_date_line(place: str, day: date, line: str) -> None:
    assert date_line(place, day) == line


def test_merge_text_very_long_rewrites_are_one_region() -> None:
    words = "đảng viên chi bộ họp thường kỳ bí thư báo cáo kết quả tháng trước thảo luận nghị quyết".split()
    base = " ".join(words[(index * 7) % len(words)] for index in range(4000))  # ~16,000 characters
    ours, theirs = base.replace("họp", "HỌP"), base.replace("thảo", "THẢO")
    assert merge_text(base, ours, theirs) is None  # too long to compare finely: refused, not guessed
    assert merge_text(base, ours, base + " Hết.") == ours + " Hết."  # beyond the changed span


# Regressions of the defect issue 28's state machine found (tests/unit/test_minutes_interleavings.py):
# each side's alignment with the base is found on its own, and inside one word they could place the
# same characters differently, so the merge made a text neither side wrote and called it applied.
@pytest.mark.parametrize(
    ("base", "ours", "theirs"),
    [
        ("Nguyễn Văn An", "Nguyễn Văn Anh", "Nguyễn Văn Ân"),  # two people retype one name
        (  # one deletes ⟨e1-2⟩ and types ⟨e0-20⟩ there; the other deletes ⟨e2-15⟩, types ⟨e1-22⟩
            "Bí thư⟨e2-15⟩⟨e1-2⟩ chi bộ",
            "Bí thư⟨e2-15⟩⟨e0-20⟩ chi bộ",
            "Bí thư⟨e1-2⟩⟨e1-22⟩ chi bộ",
        ),
    ],
)
def test_changes_of_both_sides_in_one_word_are_a_conflict(base: str, ours: str, theirs: str) -> None:
    assert merge_text(base, ours, theirs) is None
    assert merge_text(base, theirs, ours) is None


def test_changes_of_both_sides_in_different_words_still_merge() -> None:
    base = "Nguyễn Văn An phát biểu"
    assert merge_text(base, "Nguyễn Văn Anh phát biểu", "Nguyễn Văn An phát biểu ý kiến") == (
        "Nguyễn Văn Anh phát biểu ý kiến"
    )
