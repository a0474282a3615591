"""The audit hash chain: encoding, and a verifier that names the first bad seq of any tampering."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetings.audit_chain import (
    GENESIS,
    ChainEntry,
    ChainFault,
    Checkpoint,
    canonical_json,
    entry_hash,
    next_entry,
    verify_chain,
)


def _chain(length: int) -> list[ChainEntry]:
    entries: list[ChainEntry] = []
    previous = None
    for seq in range(1, length + 1):
        previous = next_entry(previous, {"action": "member.update", "n": seq, "note": "Nguyễn Văn A"})
        entries.append(previous)
    return entries


def _rechain(entries: list[ChainEntry], start: int) -> list[ChainEntry]:
    """An attacker with write access: from index `start` on, recompute every prev_hash and hash."""
    out = entries[:start]
    for entry in entries[start:]:
        prev = out[-1].hash if out else GENESIS
        out.append(ChainEntry(entry.seq, prev, entry_hash(prev, entry.body), entry.body))
    return out


def test_canonical_json_is_sorted_compact_utf8() -> None:
    encoded = canonical_json({"b": 1, "a": {"d": [1, 2], "c": "Đảng viên"}})
    assert encoded == '{"a":{"c":"Đảng viên","d":[1,2]},"b":1}'.encode()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["NaN", "inf", "-inf"])
def test_canonical_json_refuses_non_finite_numbers(bad: float) -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": bad})


def test_entry_hash_is_sha256_of_prefix_body_and_previous_hash() -> None:
    body = {"seq": 1, "event": "vote.closed"}
    expected = hashlib.sha256(b"\x00" + b'{"event":"vote.closed","seq":1}' + GENESIS.encode()).hexdigest()
    assert entry_hash(GENESIS, body) == expected
    assert GENESIS == "0" * 64


def test_next_entry_links_to_the_previous_one() -> None:
    first = next_entry(None, {"a": 1})
    second = next_entry(first, {"a": 2})
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.hash)


def test_an_intact_chain_verifies_and_reports_its_head() -> None:
    entries = _chain(50)
    verdict = verify_chain(entries)
    assert verdict.ok
    assert verdict.count == 50
    assert verdict.head_hash == entries[-1].hash
    assert verdict.first_bad_seq is None and verdict.reason is None


def test_an_empty_chain_verifies_with_the_genesis_head() -> None:
    verdict = verify_chain([])
    assert verdict.ok and verdict.count == 0 and verdict.head_hash == GENESIS


def _modify_body(entries: list[ChainEntry], i: int) -> list[ChainEntry]:
    entries[i] = dataclasses.replace(entries[i], body={**entries[i].body, "note": "forged"})
    return entries


def _modify_hash(entries: list[ChainEntry], i: int) -> list[ChainEntry]:
    entries[i] = dataclasses.replace(entries[i], hash="f" * 64)
    return entries


def _modify_prev_hash(entries: list[ChainEntry], i: int) -> list[ChainEntry]:
    entries[i] = dataclasses.replace(entries[i], prev_hash="e" * 64)
    return entries


def _delete(entries: list[ChainEntry], i: int) -> list[ChainEntry]:
    del entries[i]
    return entries


def _delete_and_renumber(entries: list[ChainEntry], i: int) -> list[ChainEntry]:
    del entries[i]
    return entries[:i] + [dataclasses.replace(e, seq=e.seq - 1) for e in entries[i:]]


def _swap_rows(entries: list[ChainEntry], i: int) -> list[ChainEntry]:
    entries[i], entries[i + 1] = entries[i + 1], entries[i]
    return entries


def _swap_contents_keep_seqs(entries: list[ChainEntry], i: int) -> list[ChainEntry]:
    a, b = entries[i], entries[i + 1]
    entries[i] = dataclasses.replace(b, seq=a.seq)
    entries[i + 1] = dataclasses.replace(a, seq=b.seq)
    return entries


def _insert_forged_duplicate(entries: list[ChainEntry], i: int) -> list[ChainEntry]:
    # A well-forged row: right seq, linked to the previous hash, its own hash correct.
    prev = entries[i - 1].hash if i else GENESIS
    body = {"action": "forged"}
    entries.insert(i, ChainEntry(i + 1, prev, entry_hash(prev, body), body))
    return entries


def _insert_forged_renumbered(entries: list[ChainEntry], i: int) -> list[ChainEntry]:
    entries = _insert_forged_duplicate(entries, i)
    return entries[: i + 1] + [dataclasses.replace(e, seq=e.seq + 1) for e in entries[i + 1 :]]


# (mutation, first bad seq as a function of the mutated index i, where i is 0-based)
MUTATIONS: list[Any] = [
    pytest.param(_modify_body, lambda i: i + 1, ChainFault.HASH_MISMATCH, id="B4 modified body"),
    pytest.param(_modify_hash, lambda i: i + 1, ChainFault.HASH_MISMATCH, id="B4 modified hash"),
    pytest.param(
        _modify_prev_hash, lambda i: i + 1, ChainFault.PREV_HASH_MISMATCH, id="B4 modified prev_hash"
    ),
    pytest.param(_delete, lambda i: i + 1, ChainFault.SEQ_MISMATCH, id="B4 deleted row"),
    pytest.param(
        _delete_and_renumber, lambda i: i + 1, ChainFault.PREV_HASH_MISMATCH, id="B4 deleted, renumbered"
    ),
    pytest.param(_swap_rows, lambda i: i + 1, ChainFault.SEQ_MISMATCH, id="B4 swapped rows"),
    pytest.param(
        _swap_contents_keep_seqs, lambda i: i + 1, ChainFault.PREV_HASH_MISMATCH, id="B4 swapped contents"
    ),
    pytest.param(
        _insert_forged_duplicate, lambda i: i + 1, ChainFault.INSERTED_ROW, id="B4 inserted row, same seq"
    ),
    pytest.param(
        _insert_forged_renumbered, lambda i: i + 1, ChainFault.INSERTED_ROW, id="B4 inserted row, renumbered"
    ),
]


@pytest.mark.parametrize(("mutate", "bad_seq", "fault"), MUTATIONS)
@pytest.mark.parametrize("index", [0, 1, 17, 38], ids=lambda i: f"row {i + 1}")
def test_every_single_row_mutation_is_flagged_at_its_seq(
    mutate: Callable[[list[ChainEntry], int], list[ChainEntry]],
    bad_seq: Callable[[int], int],
    fault: ChainFault,
    index: int,
) -> None:
    verdict = verify_chain(mutate(_chain(40), index))
    assert not verdict.ok
    assert verdict.first_bad_seq == bad_seq(index)
    assert verdict.reason == fault
    assert verdict.count == verdict.first_bad_seq - 1
    assert str(verdict.first_bad_seq) in verdict.detail


def test_the_last_row_modified_is_flagged() -> None:
    verdict = verify_chain(_modify_body(_chain(10), 9))
    assert (verdict.ok, verdict.first_bad_seq) == (False, 10)


def test_a_body_that_cannot_be_encoded_is_malformed() -> None:
    entries = _chain(3)
    entries[1] = dataclasses.replace(entries[1], body={"x": math.nan})
    verdict = verify_chain(entries)
    assert (verdict.reason, verdict.first_bad_seq) == (ChainFault.MALFORMED, 2)


def test_truncation_and_rewrite_need_a_checkpoint() -> None:
    entries = _chain(30)
    checkpoint = Checkpoint(30, entries[-1].hash)
    truncated = entries[:25]
    rewritten = _rechain(_modify_body(list(entries), 11), 11)
    # Without an earlier head both look intact (Crosby and Wallach): this is why heads leave the box.
    assert verify_chain(truncated).ok
    assert verify_chain(rewritten).ok
    cut = verify_chain(truncated, checkpoint)
    assert (cut.ok, cut.reason, cut.first_bad_seq) == (False, ChainFault.TRUNCATED, 26)
    forged = verify_chain(rewritten, checkpoint)
    assert (forged.ok, forged.reason, forged.first_bad_seq) == (False, ChainFault.CHECKPOINT_MISMATCH, 30)
    assert verify_chain(entries, checkpoint).ok


def test_verification_streams_and_stops_at_the_first_fault() -> None:
    entries = _modify_body(_chain(100), 4)
    pulled = 0

    def stream() -> Iterator[ChainEntry]:
        nonlocal pulled
        for entry in entries:
            pulled += 1
            yield entry

    assert verify_chain(stream()).first_bad_seq == 5
    assert pulled == 5


def test_verifying_100k_entries_takes_well_under_5_seconds() -> None:
    def lazily() -> Iterator[ChainEntry]:
        previous = None
        for seq in range(1, 100_001):
            previous = next_entry(
                previous, {"seq": seq, "action": "attendance.joined", "member_id": seq % 97}
            )
            yield previous

    entries = list(lazily())
    started = time.perf_counter()
    verdict = verify_chain(iter(entries))
    elapsed = time.perf_counter() - started
    assert verdict.ok and verdict.count == 100_000
    assert elapsed < 2.5, elapsed


_bodies = st.dictionaries(
    st.text(max_size=8),
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    max_size=4,
)


@settings(max_examples=200)
@given(
    bodies=st.lists(_bodies, min_size=1, max_size=30),
    data=st.data(),
    field=st.sampled_from(["body", "hash", "prev_hash", "seq"]),
)
def test_any_single_row_modification_is_flagged_at_exactly_its_seq(
    bodies: list[dict[str, Any]], data: st.DataObject, field: str
) -> None:
    entries: list[ChainEntry] = []
    for body in bodies:
        entries.append(next_entry(entries[-1] if entries else None, body))
    index = data.draw(st.integers(min_value=0, max_value=len(entries) - 1))
    target = entries[index]
    if field == "body":
        tampered = dataclasses.replace(target, body={**target.body, "tampered": True})
    elif field == "hash":
        tampered = dataclasses.replace(target, hash=hashlib.sha256(target.hash.encode()).hexdigest())
    elif field == "prev_hash":
        tampered = dataclasses.replace(
            target, prev_hash=hashlib.sha256(target.prev_hash.encode()).hexdigest()
        )
    else:
        new_seq = data.draw(st.integers(min_value=-5, max_value=100).filter(lambda s: s != target.seq))
        tampered = dataclasses.replace(target, seq=new_seq)
    entries[index] = tampered
    verdict = verify_chain(entries)
    assert not verdict.ok
    assert verdict.first_bad_seq == index + 1
    assert verdict.count == index
