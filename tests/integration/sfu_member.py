"""A member on the SFU, as the room page will be (issue 24), played by aiortc: it publishes its
microphone once over `/room` (`sfu-publish`) and hears everyone on one subscriber connection
(`sfu-subscribe`, `sfu-answer`), every negotiation relayed by the server (docs/api.md "The SFU").
It counts the audio frames it sends and, per publishing member, those it receives."""

from __future__ import annotations

import asyncio
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack

from tests.integration.room_client import RoomClient


class CountedMicrophone(AudioStreamTrack):
    """aiortc's paced 20 ms frames, counted as the encoder takes them; paused, it sends no more."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0
        self._on = asyncio.Event()
        self._on.set()

    def pause(self) -> None:
        self._on.clear()

    async def recv(self) -> Any:
        await self._on.wait()
        frame = await super().recv()
        self.sent += 1
        return frame


class SfuMember:
    def __init__(self, room: RoomClient, peer_id: str) -> None:
        self.room = room
        self.peer_id = peer_id
        self.microphone = CountedMicrophone()
        self.publisher = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.subscriber = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.received: dict[str, int] = {}  # publishing member's peer id -> frames heard
        self.whose_mid: dict[str, str] = {}  # the subscriber's stream (mid) -> its publisher's peer id
        self._listening: set[asyncio.Task[None]] = set()
        self.offers_unasked = 0  # offers Janus made on its own (a publisher left), relayed by the server
        self.subscriber.on("track", self._track)
        room.sio.on("sfu-offer", self._offer, namespace="/room")

    async def start_again(self) -> None:
        """Janus came back (the `media` push said `sfu: "back"`): new connections, as the page makes,
        published and subscribed anew; what was heard before is kept in `received`."""
        await self.close()
        self.microphone = CountedMicrophone()
        self.publisher = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.subscriber = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.subscriber.on("track", self._track)
        self.whose_mid.clear()
        await self.publish()

    async def publish(self) -> Any:
        self.publisher.addTrack(self.microphone)
        await self.publisher.setLocalDescription(await self.publisher.createOffer())
        offer = self.publisher.localDescription
        ack = await self.room.call("sfu-publish", {"description": {"type": offer.type, "sdp": offer.sdp}})
        assert ack["ok"] is True, ack
        await self.publisher.setRemoteDescription(RTCSessionDescription(**ack["description"]))
        # aiortc gathers every candidate into the offer: nothing more will trickle
        done = await self.room.call("sfu-candidate", {"target": "publisher", "candidate": None})
        assert done == {"ok": True}, done
        return ack

    async def subscribe(self) -> Any:
        ack = await self.room.call("sfu-subscribe", {})
        assert ack["ok"] is True, ack
        if ack["description"] is not None:
            await self._answer(ack["description"], ack["streams"])
        return ack

    async def _offer(self, data: dict[str, Any]) -> None:
        self.offers_unasked += 1
        await self._answer(data["description"], data["streams"])

    async def _answer(self, offer: dict[str, Any], streams: list[dict[str, Any]]) -> None:
        for stream in streams:
            self.whose_mid[str(stream["mid"])] = stream["peer_id"]
        await self.subscriber.setRemoteDescription(RTCSessionDescription(**offer))
        await self.subscriber.setLocalDescription(await self.subscriber.createAnswer())
        answer = self.subscriber.localDescription
        ack = await self.room.call("sfu-answer", {"description": {"type": answer.type, "sdp": answer.sdp}})
        assert ack == {"ok": True}, ack
        await self.room.call("sfu-candidate", {"target": "subscriber", "candidate": None})

    def _track(self, track: MediaStreamTrack) -> None:
        mid = next(t.mid for t in self.subscriber.getTransceivers() if t.receiver.track is track)
        task = asyncio.get_running_loop().create_task(self._count(track, str(mid)))
        self._listening.add(task)
        task.add_done_callback(self._listening.discard)

    async def _count(self, track: MediaStreamTrack, mid: str) -> None:
        try:
            while True:
                await track.recv()
                whose = self.whose_mid.get(mid)
                if whose is not None:
                    self.received[whose] = self.received.get(whose, 0) + 1
        except MediaStreamError:
            pass  # the stream ended

    def connected(self) -> bool:
        return all(pc.connectionState == "connected" for pc in (self.publisher, self.subscriber))

    async def close(self) -> None:
        await self.publisher.close()
        await self.subscriber.close()
        for task in list(self._listening):
            task.cancel()
        await asyncio.gather(*self._listening, return_exceptions=True)
