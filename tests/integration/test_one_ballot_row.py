"""quality.md S14 (issue 29): one ballot per eligible member, as one row of docs/reliability.md.

Cell A grown to N members (the fast tier 20, the slow one 100 as quality.md says): N - 1 official
members and Năm, the probationary one. An online meeting is opened with more than half of the
officials in the room (quorate, R-QUOR-1) and Năm; the others stay away. Two votes, each:

- every official present sends one `ballot` over the room at the same moment as one of them sends
  many more (fast 20, slow 50) with changing choices, Năm sends one, each absent official tries REST,
  and three accounts that are no member of the cell (its secretary, another cell's, an outsider) try
  too: exactly one ballot of each official present is accepted, every other refused with its rule
  (R-VOTE-2: `already_voted`, `probationary`, `not_present`; no member record: 403 or 404);
- after the close the counts equal the accepted ballots (with the racing member's accepted choice),
  `voted` lists exactly the officials present, the audit log holds one `ballot.cast` per accepted
  ballot, and the result is taken against the voting base (R-VOTE-1): the first vote has more than
  half of those present in favour but not more than half of the base and fails, the second has just
  more than half of the base and passes; a ballot after the close is `vote_closed`.

"Unlinkability if a vote is marked secret" does not apply: a vote's `method` is "open" only (issue 30:
an electronic secret ballot is refused); asking for `"secret"` is checked to be refused (422).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.harness import Reply
from tests.integration.room_client import RoomClient, cell_of, joined, online_meeting
from tests.integration.world import World
from tests.reliability import Tally, node_id

RELIABILITY_ROW = "S14"  # its line in docs/reliability.md, even when it fails before measuring

PROBATIONARY = 4  # Năm, in cell A's list (tests/integration/world.py MEMBERS)
# Accounts with no member record of cell A, and the answer to their ballot: its secretary sees the vote
# but has no ballot (403); another cell's secretary and an outsider do not see it (404).
NON_MEMBERS = {"sec_a": 403, "sec_b": 404, "outsider": 404}
RACING_CHOICES = ("against", "abstain")  # the racer's: the "for" count is the others' (see `round_of`)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Every member's room socket comes from 127.0.0.1: one address, many members.
    return {"room_connect_burst_per_address": 1000, "connections_per_address": 1000}


async def ballot_entries(world: World, vote_id: int) -> int:
    """The audit log's `ballot.cast` entries of one vote, over every page."""
    operator = await world.as_user("operator")
    after, found = 0, 0
    while True:
        page = await operator.get(f"/api/v1/audit/log?after={after}")
        assert page.status == 200, page.body
        entries = page.body["entries"]
        if not entries:
            return found
        found += sum(
            1 for e in entries if e["action"] == "ballot.cast" and e.get("target") == f"vote:{vote_id}"
        )
        after = int(entries[-1]["seq"])


def refusal(answer: Any) -> tuple[Any, Any]:
    """(rule, reason) of a refused socket ballot, or None, None when it was accepted."""
    if answer.get("ok") is True:
        return None, None
    error = answer.get("error") or {}
    return error.get("rule"), (error.get("details") or {}).get("reason")


async def one_ballot_each(
    world: World,
    request: pytest.FixtureRequest,
    rooms: list[RoomClient],
    *,
    size: int,
    racing: int,
    tier: str,
) -> None:
    tally = Tally("S14", node_id(request), "", tier)
    people = await cell_of(world, size)
    officials = [person for index, person in enumerate(people) if index != PROBATIONARY]
    nam = people[PROBATIONARY]
    base = len(officials)  # R-BASE-2: every official summoned; nobody excused, suspended or away
    needed = base // 2 + 1  # R-VOTE-1: more than half of the base
    present = officials[: max(needed + 2, base * 6 // 10)]
    absent = officials[len(present) :]
    assert present and absent and base // 2 * 2 > len(present), "the design: see round_of"

    mid = await online_meeting(world)
    sockets: dict[int, RoomClient] = {}
    entering = [*present, nam]
    for start in range(0, len(entering), 10):
        batch = entering[start : start + 10]
        opened = await asyncio.gather(*(joined(world, username, mid) for username, _ in batch))
        for (_, member_id), (client, _) in zip(batch, opened, strict=True):
            sockets[member_id] = client
            rooms.append(client)
    sec_a = await world.as_user("sec_a")
    opening = await sec_a.post(f"/api/v1/meetings/{mid}/open", {})
    tally.count(
        opening.status == 200 and opening.body["quorum"]["outcome"] is True,
        f"the meeting with {len(present)} of {base} officials did not open quorate: {opening.body}",
    )

    secret = await sec_a.post(
        f"/api/v1/meetings/{mid}/votes", {"question": "Bỏ phiếu kín?", "kind": "ordinary", "method": "secret"}
    )
    tally.count(
        (secret.status, secret.error_code) == (422, "validation_error"),
        f"a secret vote was not refused: {secret.status} {secret.body}",
    )

    outsiders = [await world.as_user(name) for name in NON_MEMBERS]
    members = {username: await world.as_user(username) for username, _ in absent}

    async def round_of(question: str, in_favour: int, outcome: str, racer: tuple[str, int]) -> None:
        """One vote: `in_favour` of the officials present other than the racer vote for, the rest
        against; the racer sends `racing` ballots at once, alternating against and abstain."""
        created = await sec_a.post(
            f"/api/v1/meetings/{mid}/votes", {"question": question, "kind": "ordinary"}
        )
        assert created.status == 201, created.body
        vote_id = int(created.body["id"])
        others = [person for person in present if person != racer]
        choices = {
            member_id: "for" if i < in_favour else "against" for i, (_, member_id) in enumerate(others)
        }
        racer_choices = [RACING_CHOICES[i % 2] for i in range(racing)]
        racer_socket = sockets[racer[1]]
        path = f"/api/v1/votes/{vote_id}/ballots"
        (racer_answers, other_answers, nam_answer, absent_answers, outsider_answers) = await asyncio.gather(
            asyncio.gather(
                *(racer_socket.call("ballot", {"vote_id": vote_id, "choice": c}) for c in racer_choices)
            ),
            asyncio.gather(
                *(sockets[m].call("ballot", {"vote_id": vote_id, "choice": c}) for m, c in choices.items())
            ),
            sockets[nam[1]].call("ballot", {"vote_id": vote_id, "choice": "for"}),
            asyncio.gather(*(members[username].post(path, {"choice": "for"}) for username, _ in absent)),
            asyncio.gather(*(client.post(path, {"choice": "for"}) for client in outsiders)),
        )

        accepted = [i for i, answer in enumerate(racer_answers) if answer.get("ok") is True]
        tally.count(len(accepted) == 1, f"{len(accepted)} of {racing} racing ballots of one member accepted")
        for answer in racer_answers:
            if answer.get("ok") is not True:
                tally.count(
                    refusal(answer) == ("R-VOTE-2", "already_voted"),
                    f"a racing ballot refused as {answer.get('error')}",
                )
        for (member_id, _), answer in zip(choices.items(), other_answers, strict=True):
            tally.count(answer.get("ok") is True, f"member {member_id}'s one ballot refused: {answer}")
        tally.count(
            refusal(nam_answer) == ("R-VOTE-2", "probationary"),
            f"the probationary ballot answered {nam_answer}",
        )
        for (username, _), reply in zip(absent, absent_answers, strict=True):
            error = (reply.body.get("error") if isinstance(reply.body, dict) else None) or {}
            tally.count(
                (
                    reply.status,
                    reply.error_code,
                    error.get("rule"),
                    (error.get("details") or {}).get("reason"),
                )
                == (409, "ballot_refused", "R-VOTE-2", "not_present"),
                f"{username}, absent, answered {reply.status} {reply.body}",
            )
        for (name, status), reply in zip(NON_MEMBERS.items(), outsider_answers, strict=True):
            tally.count(reply.status == status, f"{name}, no member of the cell, answered {reply.status}")

        closed: Reply = await sec_a.post(f"/api/v1/votes/{vote_id}/close", {})
        assert closed.status == 200, closed.body
        vote = closed.body
        racer_choice = racer_choices[accepted[0]] if len(accepted) == 1 else None
        expected = {"for": in_favour, "against": len(others) - in_favour, "abstain": 0}
        if racer_choice is not None:
            expected[racer_choice] += 1
        counts = {key: vote["counts"][key] for key in ("for", "against", "abstain")}
        tally.count(counts == expected, f"counts {counts}, accepted ballots {expected}")
        tally.count(
            vote["counts"]["ballots"] == len(present),
            f"{vote['counts']['ballots']} ballots counted, {len(present)} officials present",
        )
        tally.count(
            vote["voted"] == sorted(member_id for _, member_id in present),
            f"voted {vote['voted']} is not exactly the officials present",
        )
        result = vote["result"] or {}
        shown = {key: result.get("counts", {}).get(key) for key in ("for", "voting_base", "needed")}
        tally.count(
            (result.get("rule"), result.get("outcome"), shown)
            == ("R-VOTE-1", outcome, {"for": in_favour, "voting_base": base, "needed": needed}),
            f"result {result.get('rule')} {result.get('outcome')} {shown}, expected {outcome} of base {base}",
        )
        cast = await ballot_entries(world, vote_id)
        tally.count(cast == len(present), f"{cast} ballot.cast audit entries for {len(present)} ballots")
        late = await sockets[present[0][1]].call("ballot", {"vote_id": vote_id, "choice": "for"})
        tally.count(
            (late.get("error") or {}).get("code") == "vote_closed",
            f"a ballot after the close answered {late}",
        )

    # More than half of those present in favour, not more than half of the base: fails (R-VOTE-1).
    await round_of("Tán thành kế hoạch quý I", base // 2, "failed", present[-1])
    # Just more than half of the base: passes, however many are present.
    await round_of("Tán thành kế hoạch quý II", needed, "passed", present[1])

    tally.attacked = (
        f"a cell of {size} ({base} official, 1 probationary), {len(present)} officials and the probationary"
        f" member in the online room, {len(absent)} officials away; 2 votes, each: every official present"
        f" sends one `ballot` while one of them sends {racing} at once, the probationary member one, each"
        " absent official one over REST, 3 accounts with no member record of the cell one each; a ballot"
        " after the close; a vote asked for as secret"
    )
    tally.write(
        f"{tally.attempts - tally.failures} of {tally.attempts} checks held: per vote exactly one of"
        f" {racing} racing ballots accepted (the rest R-VOTE-2 already_voted), {len(present)} ballots for"
        f" {len(present)} officials present, the probationary ballot R-VOTE-2 probationary, {len(absent)}"
        f" absent R-VOTE-2 not_present, 3 non-members 403 (the cell's secretary) or 404, the counts"
        " equal the accepted ballots;"
        f" base {base} (needed {needed}): {base // 2} for of {len(present)} present failed, {needed} for"
        " passed (R-VOTE-1). Secret ballots are not offered (method 'secret' answered 422, issue 30), so"
        " quality.md's unlinkability checks have no secret vote to run on"
    )
    assert tally.broken == []


@pytest.mark.reliability
async def test_one_ballot_per_official_present_in_a_cell_of_20(
    world: World, request: pytest.FixtureRequest, rooms: list[RoomClient]
) -> None:
    await one_ballot_each(world, request, rooms, size=20, racing=20, tier="fast")


@pytest.mark.slow
@pytest.mark.reliability
async def test_one_ballot_per_official_present_in_a_cell_of_100(
    world: World, request: pytest.FixtureRequest, rooms: list[RoomClient]
) -> None:
    await one_ballot_each(world, request, rooms, size=100, racing=50, tier="slow")
