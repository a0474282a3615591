"""The per-address limits are the operator's to raise (members behind one NAT share an address) and are
checked at start; unset, the defaults hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.settings import UnsafeSettings, load_settings

KEY = "k" * 48


def test_defaults_hold_and_the_operator_may_raise_them(tmp_path: Path) -> None:
    base = {"CELLMEET_DATA_DIR": str(tmp_path), "CELLMEET_SECRET_KEY": KEY}
    default = load_settings(base)
    assert (
        default.connections_per_address,
        default.room_connect_burst_per_address,
        default.room_connects_per_address_per_second,
    ) == (256, 60, 2.0)
    raised = load_settings(
        {
            **base,
            "CELLMEET_CONNECTIONS_PER_ADDRESS": "2000",
            "CELLMEET_ROOM_CONNECT_BURST_PER_ADDRESS": " 500 ",
            "CELLMEET_ROOM_CONNECTS_PER_ADDRESS_PER_SECOND": "20.5",
        }
    )
    assert (
        raised.connections_per_address,
        raised.room_connect_burst_per_address,
        raised.room_connects_per_address_per_second,
    ) == (2000, 500, 20.5)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CELLMEET_CONNECTIONS_PER_ADDRESS", "0"),
        ("CELLMEET_CONNECTIONS_PER_ADDRESS", "1.5"),
        ("CELLMEET_CONNECTIONS_PER_ADDRESS", "many"),
        ("CELLMEET_ROOM_CONNECT_BURST_PER_ADDRESS", "-1"),
        ("CELLMEET_ROOM_CONNECT_BURST_PER_ADDRESS", "２０"),
        ("CELLMEET_ROOM_CONNECTS_PER_ADDRESS_PER_SECOND", "0"),
        ("CELLMEET_ROOM_CONNECTS_PER_ADDRESS_PER_SECOND", "nan"),
        ("CELLMEET_ROOM_CONNECTS_PER_ADDRESS_PER_SECOND", "inf"),
    ],
)
def test_a_bad_limit_refuses_to_start(tmp_path: Path, name: str, value: str) -> None:
    env = {"CELLMEET_DATA_DIR": str(tmp_path), "CELLMEET_SECRET_KEY": KEY, name: value}
    with pytest.raises(UnsafeSettings, match=name):
        load_settings(env)
