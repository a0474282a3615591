"""Issue 24, point 5: the check of the path to the SFU on a server without one is refused clearly (409
`sfu_not_configured`, in the caller's language) and changes nothing; bad input is refused as for the
server's own echo."""

from __future__ import annotations

from tests.integration.world import World

OFFER = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 AA\r\n"


async def test_no_sfu_no_check(world: World) -> None:
    member = await world.as_user("member_a")
    refused = await member.post("/api/v1/media/echo", {"type": "offer", "sdp": OFFER, "via": "sfu"})
    assert refused.status == 409, refused.body
    assert refused.body["error"]["code"] == "sfu_not_configured"
    assert "SFU" in refused.body["error"]["message"]
    english = await (await world.as_user("member_a", lang="en")).post(
        "/api/v1/media/echo", {"type": "offer", "sdp": OFFER, "via": "sfu"}
    )
    assert (
        english.body["error"]["message"] == "This server has no SFU: meeting rooms connect members directly."
    )
    wrong = await member.post("/api/v1/media/echo", {"type": "offer", "sdp": OFFER, "via": "janus"})
    assert wrong.status == 422 and wrong.body["error"]["code"] == "validation_error"
    assert (await member.request("DELETE", "/api/v1/media/echo/sfu-nothing")).status == 404
