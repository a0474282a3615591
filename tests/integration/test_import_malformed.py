"""A malformed multipart register import is the caller's error, never a 500 (issue 21 point 2).

`request.multipart()` raised `ValueError` on a multipart body without a boundary, or one that does not
contain it: a secretary's one bad request logged an incident with a traceback. Each malformed shape is
now 422 `import_invalid` in the caller's language, and nothing is written (no member, no audit row).
"""

from __future__ import annotations

from tests.integration.harness import ApiClient, Reply
from tests.integration.helpers import assert_error, audit_length, is_vietnamese, member_ids
from tests.integration.world import World

GOOD_CSV = "Họ và tên,Đảng viên\nLò Văn Hợp,chính thức\n".encode()
BOUNDARY = "cellmeetBoundary7MA4YWxk"
FORM = f"multipart/form-data; boundary={BOUNDARY}"


def _part(name: str, content: bytes, *, filename: str | None = None, headers: str = "") -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{headers}\r\n"
    return head.encode() + content + b"\r\n"


END = f"--{BOUNDARY}--\r\n".encode()

# (what, Content-Type, body): every one is refused as import_invalid.
MALFORMED: list[tuple[str, str, bytes]] = [
    ("no boundary", "multipart/form-data", _part("file", GOOD_CSV, filename="a.csv") + END),
    ("boundary not in the body", FORM, GOOD_CSV),
    ("empty body", FORM, b""),
    ("another boundary", FORM.replace(BOUNDARY, "nope"), _part("file", GOOD_CSV, filename="a.csv") + END),
    ("empty boundary", 'multipart/form-data; boundary=""', _part("file", GOOD_CSV, filename="a.csv") + END),
    (
        "truncated in the part's headers",
        FORM,
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="fi'.encode(),
    ),
    (
        "truncated in the file (no closing boundary)",
        FORM,
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'.encode()
        + GOOD_CSV[:20],
    ),
    (
        "a nested multipart as the file",
        FORM,
        _part(
            "file",
            b"--inner\r\nContent-Disposition: form-data; name=x\r\n\r\ny\r\n--inner--\r\n",
            headers="Content-Type: multipart/mixed; boundary=inner\r\n",
        )
        + END,
    ),
    ("a mixed multipart", f"multipart/mixed; boundary={BOUNDARY}", END),
]


async def _send(client: ApiClient, org_id: int, content_type: str, body: bytes) -> Reply:
    return await client.post(
        f"/api/v1/orgs/{org_id}/members/import?filename=x.csv",
        data=body,
        headers={"Content-Type": content_type},
    )


async def test_a_malformed_multipart_import_is_import_invalid_and_writes_nothing(world: World) -> None:
    a = world.orgs["A"]
    sec_vi, sec_en = await world.as_user("sec_a"), await world.as_user("sec_a", lang="en")
    before, seq = await member_ids(sec_vi, a), await audit_length(world)
    for what, content_type, body in MALFORMED:
        vi = assert_error(await _send(sec_vi, a, content_type, body), 422, "import_invalid")
        assert is_vietnamese(vi["message"]), (what, vi)
        en = assert_error(await _send(sec_en, a, content_type, body), 422, "import_invalid")
        assert not is_vietnamese(en["message"]) and "nothing was imported" in en["message"], (what, en)
    assert await member_ids(sec_vi, a) == before
    assert await audit_length(world) == seq

    # A well-formed form still imports; its file part may omit the filename (then ?filename= names it).
    reply = await _send(sec_vi, a, FORM, _part("file", GOOD_CSV) + END)
    assert (reply.status, reply.body) == (201, {"imported": 1}), reply.body
