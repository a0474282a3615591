"""Signed checkpoints on a running server (issue 5, point 4): one at every vote close, minutes signature
and minutes lock, committing to the chain at that moment; periodic ones while the head moves; exported
over the API and by `cellmeet audit checkpoints`; and `cellmeet audit verify` trusting the public key."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from meetings.audit_chain import checkpoint_message, key_id
from server.audit.keys import AuditSigner
from server.clock import iso
from tests.integration import harness
from tests.integration.harness import ApiClient, FakeClock, RunningServer
from tests.integration.helpers import approve_a, pass_time, schedule
from tests.integration.room_client import RoomClient, joined, link_members
from tests.integration.world import PASSWORD, World, build_world

TIMEOUT = 60
CONSOLE_SCRIPT = Path(sys.executable).with_name("cellmeet")
INTERVAL_MINUTES = 0.01  # 0.6 s, for the periodic checkpoints


async def cellmeet(data_dir: Path, database_url: str, *args: str, **env_extra: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELLMEET_")}
    env.update(CELLMEET_DATA_DIR=str(data_dir), CELLMEET_DATABASE_URL=database_url, **env_extra)
    command = [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists() else [sys.executable, "-m", "server.cli"]
    process = await asyncio.create_subprocess_exec(
        *command, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def whole_log(world: World) -> list[dict[str, Any]]:
    operator = await world.as_user("operator")
    entries: list[dict[str, Any]] = []
    while True:
        after = entries[-1]["seq"] if entries else 0
        page = (await operator.get(f"/api/v1/audit/log?after={after}")).body["entries"]
        if not page:
            return entries
        entries += page


async def exported(world: World, username: str = "operator") -> dict[str, Any]:
    reply = await (await world.as_user(username)).get("/api/v1/audit/checkpoints")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def public_key_of(document: dict[str, Any]) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(document["public_key"]))


def signature_holds(public_key: Ed25519PublicKey, checkpoint: dict[str, Any]) -> bool:
    """What an auditor checks with the public key and nothing else of the server's."""
    message = checkpoint_message(
        checkpoint["seq"],
        checkpoint["head_hash"],
        checkpoint["at"],
        checkpoint["reason"],
        checkpoint["key_id"],
    )
    try:
        public_key.verify(base64.b64decode(checkpoint["signature"]), message)
    except Exception:
        return False
    return True


# --- vote close and minutes lock ---------------------------------------------------------------------


async def test_a_vote_close_and_a_minutes_lock_each_sign_the_chain_of_that_moment(
    world: World, rooms: list[RoomClient], database_url: str, tmp_path: Path
) -> None:
    assert (await exported(world))["checkpoints"] == []  # an hour has not passed: no periodic one yet
    (chair_name, chair_id), (taker_name, taker_id) = await link_members(world, "A", 2)
    await approve_a(world)
    created = await schedule(world, "sec_a", "A", mode="hybrid", chair_id=chair_id, minute_taker_id=taker_id)
    assert created.status == 201, created.body
    mid = created.body["id"]
    for username in (chair_name, taker_name):
        client, _ = await joined(world, username, mid)
        rooms.append(client)
    sec_a = await world.as_user("sec_a")
    on_site = [world.members["A"][3], world.members["A"][5]]  # two official members
    for member_id in on_site:
        assert (await sec_a.post(f"/api/v1/meetings/{mid}/checkins", {"member_id": member_id})).status == 201
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/open", {})).status == 200
    chair, taker = await world.as_user(chair_name), await world.as_user(taker_name)
    vote = await chair.post(
        f"/api/v1/meetings/{mid}/votes", {"question": "Thông qua biên bản", "kind": "minutes_adoption"}
    )
    assert vote.status == 201, vote.body
    ballots = f"/api/v1/votes/{vote.body['id']}/ballots"
    assert (await chair.post(ballots, {"choice": "for"})).status == 201
    assert (await taker.post(ballots, {"choice": "for"})).status == 201
    for member_id in on_site:
        assert (await chair.post(ballots, {"member_id": member_id, "choice": "for"})).status == 201

    closed = await chair.post(f"/api/v1/votes/{vote.body['id']}/close", {})
    assert closed.status == 200 and closed.body["result"]["outcome"] == "passed", closed.body
    log = await whole_log(world)
    assert log[-1]["action"] == "vote.closed"
    [at_close] = (await exported(world))["checkpoints"]
    assert (at_close["reason"], at_close["seq"], at_close["head_hash"]) == (
        "vote.closed",
        log[-1]["seq"],
        log[-1]["hash"],
    )
    assert at_close["at"] == iso(world.server.clock())

    await pass_time(world, 90)
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/close", {})).status == 200
    adopted = await chair.post(f"/api/v1/meetings/{mid}/minutes/adopt", {"vote_id": vote.body["id"]})
    assert adopted.status == 200, adopted.body
    assert (await chair.post(f"/api/v1/meetings/{mid}/minutes/sign", {})).body["status"] == "adopted"
    # every signature is checkpointed, the one that does not lock too
    log = await whole_log(world)
    at_chair = (await exported(world))["checkpoints"][-1]
    assert (at_chair["reason"], at_chair["seq"]) == ("minutes.signed", log[-1]["seq"])
    assert log[-1]["action"] == "minutes.signed"
    locked = await taker.post(f"/api/v1/meetings/{mid}/minutes/sign", {})
    assert locked.status == 200 and locked.body["status"] == "locked", locked.body
    log = await whole_log(world)
    assert (log[-1]["action"], log[-1]["data"]["hash"]) == ("minutes.locked", locked.body["hash"])
    assert log[-2]["action"] == "minutes.signed"
    document = await exported(world)
    first, chair_signed, taker_signed, at_lock = document["checkpoints"]
    assert first == at_close and chair_signed == at_chair
    assert (taker_signed["reason"], taker_signed["seq"]) == ("minutes.signed", log[-2]["seq"])
    assert (at_lock["reason"], at_lock["seq"], at_lock["head_hash"]) == (
        "minutes.locked",
        log[-1]["seq"],
        log[-1]["hash"],
    )
    # the checkpoints are not audit rows: the log has exactly the events, and every head is in it
    assert not [e for e in log if "checkpoint" in e["action"]]
    by_seq = {e["seq"]: e["hash"] for e in log}
    assert all(by_seq[c["seq"]] == c["head_hash"] for c in document["checkpoints"])
    # signed by the key the server publishes, checked with that public key alone
    public = await world.make_client().get("/api/v1/audit/public-key")
    assert public.status == 200 and public.body == {k: document[k] for k in ("key_id", "public_key")}
    assert document["key_id"] == key_id(base64.b64decode(document["public_key"]))
    assert all(signature_holds(public_key_of(document), c) for c in document["checkpoints"])
    assert {c["key_id"] for c in document["checkpoints"]} == {document["key_id"]}

    # the exported file verifies against the live log with the command an auditor runs
    path = tmp_path / "kept-elsewhere.json"
    code, out, err = await cellmeet(tmp_path, database_url, "audit", "checkpoints", "--out", str(path))
    assert code == 0, (out, err)
    assert json.loads(path.read_text()) == document
    code, out, err = await cellmeet(
        tmp_path,
        database_url,
        "audit",
        "verify",
        "--checkpoints",
        str(path),
        "--public-key",
        document["public_key"],
    )
    assert code == 0, (out, err)
    assert f"{len(log)} mục, mã băm đầu chuỗi {log[-1]['hash']}" in out
    assert f"Khớp 4 điểm kiểm tra đã ký (đến mục {log[-1]['seq']})" in out


# --- periodic checkpoints, export, signatures -----------------------------------------------------


@pytest.fixture
async def periodic_world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    settings = harness.test_settings(tmp_path, database_url, checkpoint_minutes=INTERVAL_MINUTES)
    server = await RunningServer.start(settings, FakeClock())
    clients: list[ApiClient] = []

    def make(lang: str = "vi") -> ApiClient:
        client = ApiClient(server.url, lang=lang)
        clients.append(client)
        return client

    stopped: list[bool] = []
    world = await build_world(server, make)
    world.stopped = stopped  # type: ignore[attr-defined]
    yield world
    for client in clients:
        await client.close()
    if not stopped:
        await server.stop()


async def settled(world: World, timeout: float = 20.0) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Wait for the periodic checkpoint of the current head: the log and the export, then."""
    deadline = time.monotonic() + timeout
    while True:
        log, document = await whole_log(world), await exported(world)
        if document["checkpoints"] and document["checkpoints"][-1]["seq"] == log[-1]["seq"]:
            return log, document
        assert time.monotonic() < deadline, (log[-1], document["checkpoints"][-1:])
        await asyncio.sleep(0.2)


async def test_periodic_checkpoints_follow_the_head_and_stop_with_the_server(periodic_world: World) -> None:
    world = periodic_world
    log, document = await settled(world)
    last = document["checkpoints"][-1]
    assert (last["reason"], last["head_hash"], last["at"]) == (
        "periodic",
        log[-1]["hash"],
        iso(world.server.clock()),
    )
    assert all(signature_holds(public_key_of(document), c) for c in document["checkpoints"])

    await asyncio.sleep(6 * INTERVAL_MINUTES * 60)  # several rounds with nothing new: nothing signed
    assert (await exported(world))["checkpoints"] == document["checkpoints"]
    assert await whole_log(world) == log  # and signing wrote no audit row

    member = world.members["A"][2]
    sec_a = await world.as_user("sec_a")
    world.server.clock.advance(minutes=5)
    assert (await sec_a.patch(f"/api/v1/members/{member}", {"standing": "probationary"})).status == 200
    moved, after = await settled(world)
    assert moved[-1]["action"] == "member.updated" and moved[-1]["seq"] > log[-1]["seq"]
    assert after["checkpoints"][-1]["at"] == iso(world.server.clock())
    assert after["checkpoints"][: len(document["checkpoints"])] == document["checkpoints"]

    started = time.monotonic()
    await world.server.stop()  # the timer must not hold the shutdown
    world.stopped.append(True)  # type: ignore[attr-defined]
    assert time.monotonic() - started < 5


async def test_the_export_is_for_operators_and_auditors_and_the_key_is_public(periodic_world: World) -> None:
    world = periodic_world
    english = world.make_client("en")
    await english.login("member_a", PASSWORD)
    readers, refused_users = ("auditor_p", "auditor_q", "admin_c"), ("sec_a", "member_a", "outsider")
    for username in (*readers, *refused_users):
        await world.as_user(username)  # logins are audited: log everyone in before the head settles
    _, document = await settled(world)
    for username in readers:
        assert await exported(world, username) == document, username
    for username in refused_users:
        refused = await (await world.as_user(username)).get("/api/v1/audit/checkpoints")
        assert (refused.status, refused.error_code) == (403, "forbidden"), username
        assert refused.body["error"]["message"] == "Bạn không có quyền thực hiện thao tác này."
    assert (await english.get("/api/v1/audit/checkpoints")).body["error"]["message"] == "You may not do this."
    anonymous = world.make_client()
    assert (await anonymous.get("/api/v1/audit/checkpoints")).status == 401
    public = await anonymous.get("/api/v1/audit/public-key")
    assert public.body == {"key_id": document["key_id"], "public_key": document["public_key"]}
    operator = await world.as_user("operator")
    last_seq = document["checkpoints"][-1]["seq"]
    assert (await operator.get(f"/api/v1/audit/checkpoints?after={last_seq}")).body["checkpoints"] == []
    if len(document["checkpoints"]) > 1:
        first_seq = document["checkpoints"][0]["seq"]
        tail = (await operator.get(f"/api/v1/audit/checkpoints?after={first_seq}")).body["checkpoints"]
        assert tail == document["checkpoints"][1:]
    assert (await operator.get("/api/v1/audit/checkpoints?after=abc")).body == document


async def test_verify_trusts_the_public_key_alone(
    periodic_world: World, database_url: str, tmp_path: Path
) -> None:
    world = periodic_world
    log, document = await settled(world)
    data_dir = tmp_path  # the server's data directory, which holds the private key
    private_key = data_dir / "audit_signing_key.pem"
    assert private_key.stat().st_mode & 0o777 == 0o600
    code, out, _ = await cellmeet(data_dir, database_url, "audit", "public-key")
    assert code == 0 and json.loads(out) == {
        "key_id": document["key_id"],
        "public_key": document["public_key"],
    }
    kept = tmp_path / "auditor" / "checkpoints.json"
    kept.parent.mkdir()
    code, _, err = await cellmeet(data_dir, database_url, "audit", "checkpoints", "--out", str(kept))
    assert code == 0, err
    assert json.loads(kept.read_text()) == document

    # The private key is not needed (nor read) to verify: take it off the box.
    away = tmp_path / "auditor" / "moved-away.pem"
    private_key.rename(away)
    try:
        code, out, err = await cellmeet(
            data_dir,
            database_url,
            "audit",
            "verify",
            "--checkpoints",
            str(kept),
            "--public-key",
            document["public_key"],
        )
        assert code == 0, (out, err)
        assert f"Khớp {len(document['checkpoints'])} điểm kiểm tra đã ký (đến mục {log[-1]['seq']})" in out
        assert "Lưu ý" not in err  # the key was given, not taken from the file
        assert not private_key.exists()  # and no key was generated in its place
    finally:
        away.rename(private_key)
    code, out, err = await cellmeet(
        data_dir, database_url, "audit", "verify", "--checkpoints", str(kept), CELLMEET_LANG="en"
    )
    assert code == 0 and "signed checkpoints matched" in out, (out, err)
    assert f"compare its key id {document['key_id']}" in err  # taken from the file: said so

    checkpoints = document["checkpoints"]
    target = checkpoints[-1]

    def variant(change: Callable[[dict[str, Any]], dict[str, Any]], name: str, **extra: Any) -> Path:
        path = tmp_path / "auditor" / f"{name}.json"
        path.write_text(
            json.dumps({**document, **extra, "checkpoints": [*checkpoints[:-1], change(dict(target))]})
        )
        return path

    signature = bytearray(base64.b64decode(target["signature"]))
    signature[17] ^= 0x04
    flipped = {
        "signature": variant(lambda c: {**c, "signature": base64.b64encode(signature).decode()}, "signature"),
        "head_hash": variant(
            lambda c: {**c, "head_hash": c["head_hash"][:-1] + ("0" if c["head_hash"][-1] != "0" else "1")},
            "head",
        ),
        "seq": variant(lambda c: {**c, "seq": c["seq"] ^ 1}, "seq"),
        "reason": variant(lambda c: {**c, "reason": "vote.closed"}, "reason"),
    }
    for field, path in flipped.items():
        code, out, err = await cellmeet(data_dir, database_url, "audit", "verify", "--checkpoints", str(path))
        named = target["seq"] ^ 1 if field == "seq" else target["seq"]
        assert code == 1, (field, out, err)
        assert out.strip() == f"điểm kiểm tra {named}: chữ ký không hợp lệ", (field, out)
    code, out, _ = await cellmeet(
        data_dir,
        database_url,
        "audit",
        "verify",
        "--checkpoints",
        str(flipped["signature"]),
        CELLMEET_LANG="en",
    )
    assert (code, out.strip()) == (1, f"checkpoint {target['seq']}: bad signature")

    # Another key: every checkpoint fails. A forger who re-signs with their own key and puts their public
    # key in the file passes only if the auditor does not bring the key they hold.
    forger = AuditSigner.of(Ed25519PrivateKey.generate())
    code, out, _ = await cellmeet(
        data_dir,
        database_url,
        "audit",
        "verify",
        "--checkpoints",
        str(kept),
        "--public-key",
        forger.public_key,
    )
    assert code == 1 and out.count("chữ ký không hợp lệ") == len(checkpoints), out

    def resign(c: dict[str, Any]) -> dict[str, Any]:
        c = {**c, "key_id": forger.key_id}
        c["signature"] = forger.sign(
            checkpoint_message(c["seq"], c["head_hash"], c["at"], c["reason"], c["key_id"])
        )
        return c

    forged = tmp_path / "auditor" / "forged.json"
    forged.write_text(json.dumps({**forger.public_json(), "checkpoints": [resign(c) for c in checkpoints]}))
    code, _, _ = await cellmeet(data_dir, database_url, "audit", "verify", "--checkpoints", str(forged))
    assert code == 0  # consistent with itself...
    code, out, _ = await cellmeet(
        data_dir,
        database_url,
        "audit",
        "verify",
        "--checkpoints",
        str(forged),
        "--public-key",
        document["public_key"],
    )
    assert code == 1 and out.count("chữ ký không hợp lệ") == len(checkpoints), out  # ...not with the key held


async def test_unusable_input_is_refused_clearly_and_changes_nothing(
    periodic_world: World, database_url: str, tmp_path: Path
) -> None:
    world = periodic_world
    log, document = await settled(world)
    not_json = tmp_path / "notes.txt"
    not_json.write_text("biên bản, không phải tệp điểm kiểm tra")
    cases = [
        (("--checkpoints", str(not_json)), "Không đọc được tệp điểm kiểm tra"),
        (("--checkpoints", str(tmp_path / "missing.json")), "Không đọc được tệp điểm kiểm tra"),
        (("--public-key", document["public_key"]), "--public-key cần đi cùng --checkpoints"),
    ]
    good = tmp_path / "good.json"
    good.write_text(json.dumps(document))
    cases.append(
        (("--checkpoints", str(good), "--public-key", "không-phải-khóa"), "Khóa công khai không dùng được")
    )
    no_key = tmp_path / "no-key.json"
    no_key.write_text(json.dumps({"checkpoints": document["checkpoints"]}))
    cases.append((("--checkpoints", str(no_key)), "Tệp không có khóa công khai"))
    for args, message in cases:
        code, out, err = await cellmeet(tmp_path, database_url, "audit", "verify", *args)
        assert (code, out) == (2, ""), (args, out, err)
        assert message in err, (args, err)
    code, _, err = await cellmeet(
        tmp_path, database_url, "audit", "verify", "--checkpoints", str(not_json), CELLMEET_LANG="en"
    )
    assert code == 2 and "Cannot read the checkpoints" in err
    code, _, err = await cellmeet(
        tmp_path, database_url, "audit", "public-key", CELLMEET_AUDIT_KEY_FILE=str(tmp_path / "nowhere.pem")
    )
    assert code == 2 and "CELLMEET_AUDIT_KEY_FILE" in err, err
    code, _, err = await cellmeet(
        tmp_path, database_url, "audit", "checkpoints", "--out", str(tmp_path / "no" / "dir.json")
    )
    assert code == 2 and "Không ghi được" in err, err
    assert await whole_log(world) == log and await exported(world) == document
