"""A meeting's room on the SFU (issue 20, step 2b): when the room moves from mesh to Janus, and the
members' negotiation with Janus, relayed over `/room` (docs/api.md "The SFU").

The browser never talks to Janus's API: the server attaches each member's publisher and subscriber
handles, only for a connection that has joined the meeting (so admitted by `/room join`'s rules), and
passes offers, answers and candidates between the member and Janus. A member publishes once
(`sfu-publish`, one upload whatever the room's size) and receives everyone on one subscriber
connection (`sfu-subscribe`, Janus 1.x multistream); `sfu-feeds` tells the room when the list of
published members changes, `sfu-offer` passes a new offer Janus makes unasked (a publisher left).

Janus is never asked anything while a room's lock is held: a slow or absent Janus delays only the
member who is negotiating, never the room's presence, hands or votes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from meetings.topology import Reason, Topology, choose
from server.media.sfu import JanusClient, RoomKeys, SfuError, room_keys
from server.metrics import watch_sfu_rooms
from server.realtime.hub import Hub
from server.realtime.live_room import Peer, Room, room_name
from server.realtime.sfu_state import Handles, MeetingMedia, janus_lost, no_handle, not_sfu, unavailable
from server.settings import Settings

log = logging.getLogger("cellmeet.sfu")

# A join that moves the room to the SFU waits at most this long for Janus before its answer (the
# switch goes on in the background and the `media` push follows).
SWITCH_WAIT_SECONDS = 3.0
# After Janus failed to make a meeting's room, it is not asked again for this long (joins stay fast).
RETRY_SECONDS = 30.0
# Janus's room admits at most this many publishers, or the meeting's summoned members if more.
MIN_PUBLISHERS = 50
# At most one `sfu-feeds` push per meeting in this interval (the first of a quiet room at once).
FEEDS_EVERY_SECONDS = 1.0
NO_SUCH_FEED = 428


class SfuRelay:
    def __init__(self, hub: Hub, settings: Settings, client_of: Callable[[], JanusClient | None]) -> None:
        self.hub = hub
        self.settings = settings
        self.client_of = client_of
        self.meetings: dict[int, MeetingMedia] = {}
        # Meetings whose Janus room outlived a restart of this server: on the SFU from their first join.
        self.reclaimable: set[int] = set()
        watch_sfu_rooms(self)  # /metrics

    def sfu_counts(self) -> tuple[int, int, int]:
        on_janus = [m for m in self.meetings.values() if m.mode is Topology.SFU and not m.lost]
        handles = [h for media in on_janus for h in media.handles.values()]
        return (
            len(on_janus),
            sum(h.publisher is not None for h in handles),
            sum(h.subscriber is not None for h in handles),
        )

    def media(self, meeting_id: int) -> MeetingMedia:
        found = self.meetings.get(meeting_id)
        if found is None:
            client = self.client_of()
            found = self.meetings[meeting_id] = MeetingMedia(
                reason=Reason.SFU_NOT_CONFIGURED if client is None else Reason.BELOW_SFU_SIZE
            )
            if client is not None and meeting_id in self.reclaimable:
                self.reclaimable.discard(meeting_id)
                found.mode, found.reason = Topology.SFU, Reason.ROOM_SIZE
                found.keys = room_keys(client.secret_key, meeting_id)
                found.publishers = MIN_PUBLISHERS
        return found

    def topology_json(self, meeting_id: int) -> dict[str, Any]:
        media = self.media(meeting_id)
        configured = self.client_of() is not None
        return {
            "mode": media.mode.value,
            # on the SFU but Janus lost: the room waits for it (sfu_recovery)
            "reason": (Reason.SFU_UNAVAILABLE if media.lost else media.reason).value,
            "sfu_min_peers": self.settings.sfu_min_peers if configured else None,
        }

    # -- the switch --------------------------------------------------------------------------------

    async def after_join(self, room: Room, max_cameras: int, summoned: int) -> None:
        """A member joined: move the room to the SFU when it reached the size (waiting a little for
        Janus, so the joiner's answer already says so)."""
        client = self.client_of()
        if client is None:
            return  # no SFU configured: every room stays a mesh, nothing to count on each join
        media = self.media(room.meeting_id)
        now = asyncio.get_running_loop().time()
        connected = len({peer.member_id for peer in room.peers.values()})
        decision = choose(
            current=media.mode,
            connected=connected,
            min_peers=self.settings.sfu_min_peers,
            sfu_down=now < media.down_until,
            low_bandwidth=bool(media.low_bandwidth & room.peers.keys()),
            current_reason=media.reason,
        )
        if media.mode is Topology.MESH:
            media.reason = decision.reason
        if decision.mode is Topology.MESH or media.mode is Topology.SFU:
            return
        if media.switching is None or media.switching.done():
            media.switching = self.hub.spawn(
                self._switch(room, client, max_cameras, summoned, decision.reason)
            )
        try:
            await asyncio.wait_for(asyncio.shield(media.switching), SWITCH_WAIT_SECONDS)
        except TimeoutError:
            pass  # the `media` push tells the room when Janus has answered

    async def set_low_bandwidth(
        self, room: Room, sid: str, on: bool, max_cameras: int, summoned: int
    ) -> None:
        """A connection asked for low bandwidth (or no longer): a mesh room moves to the SFU for it,
        if one is configured; a room already on the SFU stays there."""
        media = self.media(room.meeting_id)
        if on:
            media.low_bandwidth.add(sid)
        else:
            media.low_bandwidth.discard(sid)
        await self.after_join(room, max_cameras, summoned)
        handles = media.handles.get(sid)
        client = self.client_of()
        if handles is not None and client is not None:
            try:
                async with handles.lock:
                    await self._relay_video(client, handles, send=not on)
            except SfuError as exc:
                raise unavailable(exc) from exc

    async def _relay_video(self, client: JanusClient, handles: Handles, *, send: bool) -> None:
        """Janus relays the subscriber's video streams, or holds them (low bandwidth): no
        renegotiation, the member's connection stays as it is."""
        if handles.subscriber is None or not handles.video_mids:
            return
        streams = [{"mid": mid, "send": send} for mid in sorted(handles.video_mids)]
        await client.message(handles.subscriber, {"request": "configure", "streams": streams})

    async def _switch(
        self, room: Room, client: JanusClient, max_cameras: int, summoned: int, reason: Reason
    ) -> None:
        media = self.media(room.meeting_id)
        media.publishers, media.max_cameras = max(MIN_PUBLISHERS, summoned), max_cameras
        try:
            keys = await client.create_room(
                room.meeting_id, publishers=media.publishers, video=max_cameras > 0
            )
        except SfuError as exc:
            media.reason = Reason.SFU_UNAVAILABLE
            media.down_until = asyncio.get_running_loop().time() + RETRY_SECONDS
            log.warning(
                "SFU: meeting %s stays a mesh, Janus could not make its room (%s); asked again in %d s",
                room.meeting_id,
                exc,
                RETRY_SECONDS,
            )
            return
        media.keys, media.mode, media.reason = keys, Topology.SFU, reason
        log.info("SFU: meeting %s moves to the SFU (%d members connected)", room.meeting_id, len(room.peers))
        await self.hub.emit(
            "media",
            {"mode": media.mode.value, "reason": media.reason.value, "max_cameras": max_cameras},
            to=room_name(room.meeting_id),
        )

    # -- a member's negotiation ----------------------------------------------------------------------

    def _ready(self, peer: Peer) -> tuple[JanusClient, MeetingMedia, RoomKeys, Handles]:
        media = self.media(peer.meeting_id)
        client = self.client_of()
        if media.mode is not Topology.SFU or client is None or media.keys is None:
            raise not_sfu()
        if media.lost:
            raise janus_lost()
        return client, media, media.keys, media.handles.setdefault(peer.sid, Handles())

    async def publish(self, peer: Peer, offer: dict[str, Any]) -> dict[str, Any]:
        """The member's one upload: its offer to Janus, Janus's answer back."""
        client, media, keys, handles = self._ready(peer)
        try:
            async with handles.lock:
                if handles.publisher is None:
                    handles.publisher = await client.attach(self._publisher_events(peer, media))
                    body = {
                        "request": "joinandconfigure",
                        "room": keys.number,
                        "pin": keys.pin,
                        "ptype": "publisher",
                        "display": peer.peer_id,  # Janus is told no names
                    }
                else:
                    body = {"request": "configure"}  # a new offer: a camera turned on or off, an ICE restart
                data, jsep = await client.message(handles.publisher, body, offer)
                if "id" in data:
                    handles.feed = int(data["id"])
                await self._detach_if_gone(client, handles)
        except SfuError as exc:
            raise unavailable(exc) from exc
        return {"ok": True, "description": jsep, "feed_id": handles.feed}

    def _publisher_events(self, peer: Peer, media: MeetingMedia) -> Callable[[dict[str, Any]], None]:
        def handle(event: dict[str, Any]) -> None:
            handles = media.handles.get(peer.sid)
            if handles is None or handles.feed is None:
                return
            if event.get("janus") == "webrtcup":  # Janus receives the member: others may subscribe
                media.live[handles.feed] = peer
                self._feeds_changed(peer.meeting_id)
            elif event.get("janus") == "hangup" and media.live.pop(handles.feed, None) is not None:
                self._feeds_changed(peer.meeting_id)

        return handle

    def _feeds_changed(self, meeting_id: int) -> None:
        """`sfu-feeds` at once after a quiet interval, else at its end with every change since: each
        push makes every member renegotiate its subscriber, and at a meeting's start, with members
        joining every few hundred milliseconds, one push per join had each member's device
        renegotiating continuously (issue 27: join to first audio in a room of 50)."""
        media = self.media(meeting_id)
        if media.feeds_due:
            return
        media.feeds_due = True
        delay = media.feeds_told_at + FEEDS_EVERY_SECONDS - asyncio.get_running_loop().time()
        if delay <= 0:
            self.hub.spawn(self._tell_feeds(meeting_id))
        else:
            self.hub.spawn_later(delay, lambda: self._tell_feeds(meeting_id))

    async def _tell_feeds(self, meeting_id: int) -> None:
        media = self.media(meeting_id)
        media.feeds_due, media.feeds_told_at = False, asyncio.get_running_loop().time()
        feeds = [{"feed_id": feed, **peer.json()} for feed, peer in media.live.items()]
        await self.hub.emit("sfu-feeds", {"feeds": feeds}, to=room_name(meeting_id))

    async def subscribe(self, peer: Peer, room: Room) -> dict[str, Any]:
        """Bring the member's subscriber up to date with the feeds it may hear: Janus's offer (or
        none when nothing changed), and which stream is whose."""
        client, media, keys, handles = self._ready(peer)
        try:
            async with handles.lock:
                for _attempt in (1, 2):
                    wanted = {
                        feed
                        for feed, publisher in media.live.items()
                        if publisher.sid != peer.sid and room.may_meet(peer, publisher)
                    }
                    try:
                        data, jsep = await self._update(client, keys, handles, peer, media, wanted)
                        break
                    except SfuError as exc:
                        if exc.code != NO_SUCH_FEED:
                            raise
                        # A publisher left while this was asked: forget the feeds Janus no longer has.
                        listed = await client.request(
                            {"request": "listparticipants", "room": keys.number, "secret": keys.secret}
                        )
                        publishing = {p["id"] for p in listed.get("participants", []) if p.get("publisher")}
                        for feed in set(media.live) - publishing:
                            media.live.pop(feed, None)
                else:
                    raise SfuError(NO_SUCH_FEED, "feeds keep vanishing")
                streams = self._streams(media, data)
                if data.get("streams") is not None:
                    handles.video_mids = {str(s["mid"]) for s in streams if s["type"] == "video"}
                    if peer.sid in media.low_bandwidth:
                        await self._relay_video(client, handles, send=False)
                await self._detach_if_gone(client, handles)
        except SfuError as exc:
            raise unavailable(exc) from exc
        return {"ok": True, "description": jsep, "streams": streams}

    async def _update(
        self,
        client: JanusClient,
        keys: RoomKeys,
        handles: Handles,
        peer: Peer,
        media: MeetingMedia,
        wanted: set[int],
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        if handles.subscriber is None:
            if not wanted:
                return {}, None
            handles.subscriber = await client.attach(self._subscriber_events(peer, media))
            body: dict[str, Any] = {
                "request": "join",
                "room": keys.number,
                "pin": keys.pin,
                "ptype": "subscriber",
                "streams": [{"feed": feed} for feed in sorted(wanted)],
            }
        else:
            add, drop = wanted - handles.subscribed, handles.subscribed - wanted
            if not add and not drop:
                return {}, None
            body = {"request": "update"}
            if add:
                body["subscribe"] = [{"feed": feed} for feed in sorted(add)]
            if drop:
                body["unsubscribe"] = [{"feed": feed} for feed in sorted(drop)]
        data, jsep = await client.message(handles.subscriber, body)
        handles.subscribed = set(wanted)
        return data, jsep

    def _streams(self, media: MeetingMedia, data: dict[str, Any]) -> list[dict[str, Any]]:
        """Which of the subscriber's streams (by `mid`) carries whom."""
        streams = []
        for stream in data.get("streams", []):
            publisher = media.live.get(int(stream.get("feed_id") or 0))
            if stream.get("active", True) and publisher is not None:
                streams.append({"mid": stream.get("mid"), "type": stream.get("type"), **publisher.json()})
        return streams

    def _subscriber_events(self, peer: Peer, media: MeetingMedia) -> Callable[[dict[str, Any]], None]:
        def handle(event: dict[str, Any]) -> None:
            jsep = event.get("jsep")
            if jsep is not None and jsep.get("type") == "offer":  # Janus renegotiates (a publisher left)
                data = event.get("plugindata", {}).get("data", {})
                streams = self._streams(media, data)
                handles = media.handles.get(peer.sid)
                if handles is not None and data.get("streams") is not None:
                    handles.video_mids = {str(s["mid"]) for s in streams if s["type"] == "video"}
                self.hub.spawn(
                    self.hub.emit("sfu-offer", {"description": jsep, "streams": streams}, to=peer.sid)
                )

        return handle

    async def answer(self, peer: Peer, answer: dict[str, Any]) -> dict[str, Any]:
        """The member's answer to the subscriber's offer: Janus starts (or goes on) sending."""
        client, _, _, handles = self._ready(peer)
        if handles.subscriber is None:
            raise no_handle("subscriber")
        try:
            await client.message(handles.subscriber, {"request": "start"}, answer)
        except SfuError as exc:
            raise unavailable(exc) from exc
        return {"ok": True}

    async def candidate(self, peer: Peer, target: str, candidate: dict[str, Any] | None) -> dict[str, Any]:
        client, _, _, handles = self._ready(peer)
        handle = handles.publisher if target == "publisher" else handles.subscriber
        if handle is None:
            raise no_handle(target)
        try:
            await client.trickle(handle, candidate)
        except SfuError as exc:
            raise unavailable(exc) from exc
        return {"ok": True}

    # -- departures --------------------------------------------------------------------------------

    async def departed(self, peer: Peer) -> None:
        """The connection left the room (or lost its access): its handles go, and the room hears
        that its feed went."""
        media = self.meetings.get(peer.meeting_id)
        client = self.client_of()
        if media is not None:
            media.low_bandwidth.discard(peer.sid)
        handles = media.handles.pop(peer.sid, None) if media is not None else None
        if media is None or handles is None or client is None:
            return
        handles.gone = True
        if handles.feed is not None and media.live.pop(handles.feed, None) is not None:
            self._feeds_changed(peer.meeting_id)
        async with handles.lock:
            await self._detach_if_gone(client, handles)

    @staticmethod
    async def _detach_if_gone(client: JanusClient, handles: Handles) -> None:
        if not handles.gone:
            return
        for handle in (handles.publisher, handles.subscriber):
            if handle is not None:
                await client.detach(handle)
        handles.publisher = handles.subscriber = None
