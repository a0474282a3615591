"""S12 at integration level: the audit log as the API shows it, its chain, and tampering made directly in
the database (an attacker with write access), which `verify_database` names by its first bad seq."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import delete, insert, select, text

from meetings.audit_chain import GENESIS, entry_hash
from server.appkeys import DATABASE
from server.audit.verify import verify_database
from server.db.engine import Database
from server.db.tables import AuditEvent
from tests.integration.world import World

INSERT = "INSERT INTO audit_events (seq, at, actor_user_id, org_id, action, target, data, prev_hash, hash) "
BODY_KEYS = ("seq", "at", "actor", "org", "action", "target", "data")


def body_of(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: entry[key] for key in BODY_KEYS}


async def entries_as(world: World, username: str, after: int = 0) -> list[dict[str, Any]]:
    reply = await (await world.as_user(username)).get(f"/api/v1/audit/log?after={after}")
    assert reply.status == 200, reply.body
    return list(reply.body["entries"])


async def test_the_log_is_a_hash_chain_and_each_reader_sees_its_own_subtree(world: World) -> None:
    operator_entries = await entries_as(world, "operator")
    assert [e["seq"] for e in operator_entries] == list(range(1, len(operator_entries) + 1))
    previous = GENESIS
    for entry in operator_entries:
        assert entry["prev_hash"] == previous, entry
        # anyone holding the entries can recompute the hashes off the server
        assert entry["hash"] == entry_hash(entry["prev_hash"], body_of(entry)), entry
        previous = entry["hash"]
    actions = [e["action"] for e in operator_entries]
    assert actions.count("org.created") == 9
    assert actions.count("grant.created") == 9
    assert actions.count("member.created") == 11
    assert "auth.login" in actions
    tail = await entries_as(world, "operator", after=operator_entries[-3]["seq"])
    assert tail == operator_entries[-2:]

    verdict = await verify_database(world.server.app[DATABASE])
    assert verdict.ok, verdict
    assert (verdict.count, verdict.head_hash) == (len(operator_entries), operator_entries[-1]["hash"])

    o = world.orgs
    subtrees = {
        "auditor_p": {o[k] for k in ("P", "C", "G", "A", "A1", "B")},
        "admin_c": {o[k] for k in ("C", "G", "A", "A1", "B")},
        "auditor_q": {o[k] for k in ("Q", "QC", "QA")},
    }
    for username, orgs in subtrees.items():
        seen = await entries_as(world, username)
        assert seen, username
        assert {e["org"] for e in seen} <= orgs, username  # no other unit, no account or login entries
        expected = [e for e in operator_entries if e["org"] in orgs]
        assert seen[: len(expected)] == expected, username
    creations = {e["org"] for e in await entries_as(world, "auditor_p") if e["action"] == "member.created"}
    assert creations == {o["A"], o["B"]}
    # holding no auditor or admin grant, a secretary or a member reads no audit entries
    assert await entries_as(world, "sec_a") == []
    assert await entries_as(world, "member_a") == []
    anonymous = await world.make_client().get("/api/v1/audit/log")
    assert anonymous.status == 401


async def test_every_change_through_the_api_adds_one_audit_row_and_a_refusal_none(world: World) -> None:
    sec_a, operator = await world.as_user("sec_a"), await world.as_user("operator")
    auditor_p, admin_c = (
        await world.as_user("auditor_p"),
        await world.as_user("admin_c"),
    )  # logged in (audited) now
    member = world.members["A"][3]

    async def change(action: Callable[[], Awaitable[Any]]) -> list[dict[str, Any]]:
        before = (await entries_as(world, "operator"))[-1]["seq"]
        await action()
        return await entries_as(world, "operator", after=before)

    async def patch_member() -> None:
        assert (await sec_a.patch(f"/api/v1/members/{member}", {"standing": "probationary"})).status == 200

    [row] = await change(patch_member)
    assert (row["action"], row["actor"], row["org"], row["target"]) == (
        "member.updated",
        world.users["sec_a"],
        world.orgs["A"],
        f"member:{member}",
    )
    assert row["data"] == {"before": {"standing": "official"}, "after": {"standing": "probationary"}}

    async def rename() -> None:
        assert (
            await operator.patch(f"/api/v1/orgs/{world.orgs['B']}", {"name": "Chi bộ Hành chính"})
        ).status == 200

    [row] = await change(rename)
    assert (row["action"], row["data"]["after"]) == ("org.updated", {"name": "Chi bộ Hành chính"})

    async def add_member() -> None:
        reply = await sec_a.post(
            f"/api/v1/orgs/{world.orgs['A']}/members", {"full_name": "Mới", "standing": "official"}
        )
        assert reply.status == 201

    [row] = await change(add_member)
    assert (row["action"], row["data"]["full_name"]) == ("member.created", "Mới")

    async def refusals() -> None:
        assert (await auditor_p.patch(f"/api/v1/members/{member}", {"standing": "official"})).status == 403
        assert (await sec_a.patch(f"/api/v1/members/{member}", {"standing": "honorary"})).status == 422
        assert (
            await sec_a.patch(f"/api/v1/members/{world.members['QA'][0]}", {"standing": "official"})
        ).status == 404
        reply = await admin_c.post(
            f"/api/v1/orgs/{world.orgs['G']}/members", {"full_name": "X", "standing": "official"}
        )
        assert reply.error_code == "invalid_org_kind"
        assert (
            await sec_a.post(f"/api/v1/orgs/{world.orgs['A']}/pilot-applications", {"kind": "video"})
        ).status == 422

    assert await change(refusals) == []
    assert (await verify_database(world.server.app[DATABASE])).ok


# --- tampering -----------------------------------------------------------------------------


class Tamper:
    """Raw SQL on the live database, as an attacker with write access would do it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.json = "CAST(:value AS JSON)" if not db.is_sqlite else ":value"
        self.snapshot: list[dict[str, Any]] = []

    async def sql(self, statement: str, **params: Any) -> None:
        async with self.db.write() as session:
            await session.execute(text(statement.replace(":json", self.json)), params)

    async def raw(self, column: str, seq: int) -> Any:
        async with self.db.read() as session:
            return (
                await session.execute(
                    text(f"SELECT {column} FROM audit_events WHERE seq = :seq"), {"seq": seq}
                )
            ).scalar_one()

    async def take_snapshot(self) -> None:
        async with self.db.read() as session:
            rows = (await session.execute(select(AuditEvent.__table__))).mappings().all()  # type: ignore[attr-defined]
        self.snapshot = [dict(row) for row in rows]

    async def restore(self) -> None:
        table = AuditEvent.__table__  # type: ignore[attr-defined]
        async with self.db.write() as session:
            await session.execute(delete(table))
            await session.execute(insert(table), self.snapshot)

    async def last_seq(self) -> int:
        async with self.db.read() as session:
            return int((await session.execute(text("SELECT MAX(seq) FROM audit_events"))).scalar_one())


async def test_verify_names_the_first_altered_entry_of_every_tampering(world: World) -> None:
    db = world.server.app[DATABASE]
    tamper = Tamper(db)
    await tamper.take_snapshot()
    last = await tamper.last_seq()
    # the registration of a member of cell A, in the middle of the log
    n = next(
        row["seq"]
        for row in tamper.snapshot
        if row["action"] == "member.created" and row["org_id"] == world.orgs["A"]
    )
    assert 1 < n < last - 1
    row_n = next(row for row in tamper.snapshot if row["seq"] == n)

    async def edit_data() -> None:
        data = {**row_n["data"], "full_name": "Người Không Có Thật"}
        await tamper.sql(
            "UPDATE audit_events SET data = :json WHERE seq = :seq", value=json.dumps(data), seq=n
        )

    async def edit_actor() -> None:
        await tamper.sql(
            "UPDATE audit_events SET actor_user_id = :actor WHERE seq = :seq",
            actor=world.users["outsider"],
            seq=n,
        )

    async def edit_time() -> None:
        await tamper.sql(
            "UPDATE audit_events SET at = :at WHERE seq = :seq", at="2020-01-01T00:00:00Z", seq=n
        )

    async def edit_action() -> None:
        await tamper.sql("UPDATE audit_events SET action = 'member.deleted' WHERE seq = :seq", seq=n)

    async def edit_hash() -> None:  # make the row look fine: its hash recomputed over the forged body
        data = {**row_n["data"], "standing": "probationary"}
        forged = {**body_of({**row_n, "actor": row_n["actor_user_id"], "org": row_n["org_id"]}), "data": data}
        await tamper.sql(
            "UPDATE audit_events SET data = :json, hash = :hash WHERE seq = :seq",
            value=json.dumps(data),
            hash=entry_hash(row_n["prev_hash"], forged),
            seq=n,
        )

    async def edit_prev_hash() -> None:
        await tamper.sql("UPDATE audit_events SET prev_hash = :h WHERE seq = :seq", h="e" * 64, seq=n)

    async def delete_row() -> None:
        await tamper.sql("DELETE FROM audit_events WHERE seq = :seq", seq=n)

    async def delete_and_renumber() -> None:
        await tamper.sql("DELETE FROM audit_events WHERE seq = :seq", seq=n)
        await tamper.sql("UPDATE audit_events SET seq = -(seq - 1) WHERE seq > :seq", seq=n)
        await tamper.sql("UPDATE audit_events SET seq = -seq WHERE seq < 0")

    async def swap_data() -> None:
        first, second = await tamper.raw("data", n), await tamper.raw("data", n + 1)
        await tamper.sql("UPDATE audit_events SET data = :json WHERE seq = :seq", value=_text(second), seq=n)
        await tamper.sql(
            "UPDATE audit_events SET data = :json WHERE seq = :seq", value=_text(first), seq=n + 1
        )

    async def swap_rows() -> None:  # the whole rows, hashes included, keeping their places' seqs
        await tamper.sql("UPDATE audit_events SET seq = -1 WHERE seq = :seq", seq=n)
        await tamper.sql("UPDATE audit_events SET seq = :seq WHERE seq = :next", seq=n, next=n + 1)
        await tamper.sql("UPDATE audit_events SET seq = :next WHERE seq = -1", next=n + 1)

    async def insert_forged_at_the_end() -> None:  # a careless forgery: copies the last row's hashes
        await tamper.sql(
            INSERT
            + "SELECT seq + 1, at, actor_user_id, org_id, 'pilot.decided', target, data, prev_hash, hash "
            "FROM audit_events WHERE seq = :seq",
            seq=last,
        )

    async def insert_forged_in_the_middle() -> (
        None
    ):  # a careful forgery: linked and hashed, later rows renumbered
        await tamper.sql("UPDATE audit_events SET seq = -(seq + 1) WHERE seq >= :seq", seq=n)
        await tamper.sql("UPDATE audit_events SET seq = -seq WHERE seq < 0")
        forged = {
            "seq": n,
            "at": row_n["at"],
            "actor": world.users["sec_a"],
            "org": world.orgs["A"],
            "action": "member.updated",
            "target": "member:1",
            "data": {"after": {"activity": "exempt"}},
        }
        await tamper.sql(
            INSERT + "VALUES (:seq, :at, :actor, :org, :action, :target, :json, :prev, :hash)",
            seq=n,
            at=forged["at"],
            actor=forged["actor"],
            org=forged["org"],
            action=forged["action"],
            target=forged["target"],
            value=json.dumps(forged["data"]),
            prev=row_n["prev_hash"],
            hash=entry_hash(row_n["prev_hash"], forged),
        )

    cases: list[tuple[str, Callable[[], Awaitable[None]], int]] = [
        ("UPDATE data", edit_data, n),
        ("UPDATE actor_user_id", edit_actor, n),
        ("UPDATE at", edit_time, n),
        ("UPDATE action", edit_action, n),
        # The edited row is self-consistent; the first row that no longer links is the next one (an
        # attacker who rewrote that row's prev_hash and hash would leave the same picture: n + 1 it is).
        ("UPDATE data and a recomputed hash", edit_hash, n + 1),
        ("UPDATE prev_hash", edit_prev_hash, n),
        ("DELETE a row", delete_row, n),
        ("DELETE a row and renumber the rest", delete_and_renumber, n),
        ("swap two rows' data", swap_data, n),
        ("swap two whole rows", swap_rows, n),
        ("INSERT a forged row at the end", insert_forged_at_the_end, last + 1),
        ("INSERT a forged row in the middle", insert_forged_in_the_middle, n),
    ]
    failures = []
    for name, mutate, bad_seq in cases:
        await mutate()
        verdict = await verify_database(db)
        if verdict.ok or verdict.first_bad_seq != bad_seq:
            failures.append(f"{name}: expected first_bad_seq {bad_seq}, got {verdict}")
        await tamper.restore()
        assert (await verify_database(db)).ok, f"restore after {name}"
    assert not failures, "\n".join(failures)


async def test_without_a_checkpoint_a_cut_or_a_clean_append_is_not_detectable(world: World) -> None:
    """What the chain alone cannot show (Crosby and Wallach): the last rows cut, or a well-forged row
    appended at the head. Only a head exported earlier (a signed checkpoint) shows them."""
    db = world.server.app[DATABASE]
    tamper = Tamper(db)
    before = await verify_database(db)
    assert before.ok
    await tamper.sql("DELETE FROM audit_events WHERE seq > :seq", seq=before.count - 3)
    cut = await verify_database(db)
    assert (cut.ok, cut.count) == (True, before.count - 3)
    head = await tamper.last_seq()
    prev = await tamper.raw("hash", head)
    body = {
        "seq": head + 1,
        "at": "2026-11-23T08:00:00Z",
        "actor": None,
        "org": None,
        "action": "forged",
        "target": "none",
        "data": {},
    }
    await tamper.sql(
        INSERT + "VALUES (:seq, :at, NULL, NULL, 'forged', 'none', :json, :prev, :hash)",
        seq=head + 1,
        at=body["at"],
        value="{}",
        prev=prev,
        hash=entry_hash(prev, body),
    )
    appended = await verify_database(db)
    assert (appended.ok, appended.count) == (True, head + 1)
    assert appended.head_hash != before.head_hash  # what a checkpoint of the earlier head would catch


def _text(value: Any) -> str:
    """A JSON column read with raw SQL: text from both drivers, but be safe."""
    return value if isinstance(value, str) else json.dumps(value)
