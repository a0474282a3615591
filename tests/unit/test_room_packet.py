"""The room's packet class answers the library's binary check exactly, only faster (issue 22)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from socketio import packet

from server.realtime.guarded_server import RoomPacket

LEAVES = st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.binary(max_size=3)
PAYLOADS = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=20,
)


@given(PAYLOADS)
def test_same_answer_as_the_library(payload: Any) -> None:
    assert RoomPacket.data_is_binary(payload) == packet.Packet.data_is_binary(payload)


def test_bytes_deep_in_a_push_make_it_a_binary_event() -> None:
    push = ["presence", {"participants": [{"member_id": 1}, {"avatar": [bytearray(b"x")]}]}]
    assert RoomPacket(packet.EVENT, data=push, namespace="/room").packet_type == packet.BINARY_EVENT
    plain = ["presence", {"participants": [{"member_id": 1, "full_name": "Nguyễn Văn A"}]}]
    assert RoomPacket(packet.EVENT, data=plain, namespace="/room").packet_type == packet.EVENT
