// The room's media through the unit's SFU (Janus, docs/api.md "The SFU"): this device publishes its
// microphone (and its camera, within the room's limit) once, on one connection, and hears everyone on
// a second one; the server relays every offer, answer and candidate (the page never talks to Janus).
// It offers what room.js asks of the mesh (peers, setVideo, close), so the room moves from one to the
// other in place.

import { linkQuality, SPEAKING_LEVEL, STATS_EVERY_MS } from "./room-quality.js";

const ACK_TIMEOUT_MS = 10000;

/** Someone heard through the SFU: their audio element, their video track, how they sound. */
class Remote {
  constructor({ peer_id, member_id, full_name }) {
    this.id = peer_id;
    this.memberId = member_id;
    this.name = full_name;
    this.videoTrack = null;
    this.state = "connected";
    this.speaking = false;
    this.quality = null;
    this.audio = null;
  }
}

export class Sfu {
  /**
   * ice: the room's IceServers; local: LocalMedia; sink: where the audio elements go; socket: the
   * /room socket; onChange(): remotes or marks changed; lowBandwidth(): whether to send audio only;
   * reportFailure(): a connection failed (the server's ICE failures metric).
   */
  constructor({ ice, local, sink, socket, onChange, lowBandwidth, reportFailure = () => {} }) {
    this.ice = ice;
    this.local = local;
    this.sink = sink;
    this.socket = socket;
    this.onChange = onChange;
    this.lowBandwidth = lowBandwidth;
    this.reportFailure = reportFailure;
    this.peers = new Map(); // peer id -> Remote (room.js reads it as it reads the mesh's)
    this.streams = new Map(); // the subscriber's mid -> {type, peer_id, member_id, full_name}
    this.publisher = null;
    this.subscriber = null;
    this.published = false;
    this.videoSent = false; // whether the publication carries a video stream
    this.queue = Promise.resolve();
    this.pending = { publisher: [], subscriber: [] };
    this.closed = false;
    this.selfQuality = null;
    this.previous = new Map(); // per mid or "self": the last counters, for loss over the last second
    this.timer = window.setInterval(() => this.readStats(), STATS_EVERY_MS);
  }

  async call(event, payload) {
    const reply = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    if (!reply.ok) throw new Error(reply.error.message);
    return reply;
  }

  /** Negotiations one after the other: a publish, then a subscription, then each new offer. */
  run(step) {
    this.queue = this.queue.then(() => (this.closed ? null : step())).catch((error) => this.fail(error));
    return this.queue;
  }

  start() {
    this.run(() => this.publish());
    return this.refresh();
  }

  /** The publisher and subscriber connections, made with the room's (fresh) ICE servers. */
  async connection(target) {
    const iceServers = await this.ice.fresh();
    const pc = new RTCPeerConnection({ iceServers });
    pc.addEventListener("icecandidate", (event) => {
      const candidate = event.candidate ? event.candidate.toJSON() : null;
      // Candidates wait for the handle the server makes while relaying the offer (or answer).
      if (this.pending[target]) this.pending[target].push(candidate);
      else this.socket.emit("sfu-candidate", { target, candidate }, () => {});
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "failed" && !this.closed) this.reportFailure();
      this.onChange();
    });
    return pc;
  }

  flush(target) {
    const waiting = this.pending[target] || [];
    this.pending[target] = null;
    for (const candidate of waiting) this.socket.emit("sfu-candidate", { target, candidate }, () => {});
  }

  /** One upload: the microphone, and a video stream unless on low bandwidth (audio only then). A
   * change of mind renegotiates the same connection (Janus takes a new offer on its publisher). */
  async publish() {
    const withVideo = !this.lowBandwidth();
    let pc = this.publisher;
    if (!pc) {
      this.pending.publisher = [];
      pc = await this.connection("publisher");
      this.publisher = pc;
      pc.addTransceiver(this.local.audioTrack || "audio", { direction: "sendonly" });
      if (withVideo) pc.addTransceiver(this.local.videoTrack || "video", { direction: "sendonly" });
    } else {
      if (this.videoSent === withVideo) return;
      const video = this.videoTransceiver();
      if (video) {
        video.direction = withVideo ? "sendonly" : "inactive";
        await video.sender.replaceTrack(withVideo ? this.local.videoTrack || null : null);
      } else if (withVideo) {
        pc.addTransceiver(this.local.videoTrack || "video", { direction: "sendonly" });
      }
    }
    this.videoSent = withVideo;
    await pc.setLocalDescription(await pc.createOffer());
    const reply = await this.call("sfu-publish", { description: pc.localDescription.toJSON() });
    if (this.closed || this.publisher !== pc) return;
    await pc.setRemoteDescription(reply.description);
    this.published = true;
    if (this.pending.publisher) this.flush("publisher");
  }

  videoTransceiver() {
    if (!this.publisher) return null;
    return this.publisher.getTransceivers().find((t) => t.receiver.track.kind === "video") || null;
  }

  /** Bring the subscription up to date (after the start and each `sfu-feeds`, whose list of who
   * publishes now also lets go of those who left). */
  refresh(feeds = null) {
    if (feeds) {
      const publishing = new Set(feeds.map((feed) => feed.peer_id));
      for (const [mid, stream] of [...this.streams]) if (!publishing.has(stream.peer_id)) this.streams.delete(mid);
      for (const id of [...this.peers.keys()]) if (!publishing.has(id)) this.forget(id);
      this.onChange();
    }
    return this.run(async () => {
      const reply = await this.call("sfu-subscribe", {});
      if (reply.description) await this.answer(reply.description, reply.streams);
      else this.name(reply.streams);
    });
  }

  /** An offer Janus made on its own (a publisher left): answered in turn. */
  handleOffer({ description, streams }) {
    return this.run(() => this.answer(description, streams));
  }

  async answer(offer, streams) {
    if (!this.subscriber) {
      this.pending.subscriber = [];
      this.subscriber = await this.connection("subscriber");
      this.subscriber.addEventListener("track", (event) => this.track(event));
    }
    this.name(streams);
    await this.subscriber.setRemoteDescription(offer);
    await this.subscriber.setLocalDescription(await this.subscriber.createAnswer());
    await this.call("sfu-answer", { description: this.subscriber.localDescription.toJSON() });
    this.flush("subscriber");
  }

  /** Which stream is whose. Janus lists the streams an offer adds or changes, not always all of them:
   * the map grows with each offer, and `sfu-feeds` (refresh) lets go of those who left. */
  name(streams) {
    for (const stream of streams || []) {
      this.streams.set(stream.mid, stream);
      if (!this.peers.has(stream.peer_id)) this.peers.set(stream.peer_id, new Remote(stream));
    }
    this.onChange();
  }

  track(event) {
    const stream = this.streams.get(event.transceiver.mid);
    if (!stream) return;
    const remote = this.peers.get(stream.peer_id) || new Remote(stream);
    this.peers.set(remote.id, remote);
    if (event.track.kind === "audio") {
      if (!remote.audio) {
        remote.audio = document.createElement("audio");
        remote.audio.autoplay = true;
        remote.audio.dataset.peerId = remote.id;
        remote.audio.dataset.memberId = String(remote.memberId);
        remote.audio.dataset.packetsReceived = "0";
        if (this.local.sinkId && typeof remote.audio.setSinkId === "function") {
          remote.audio.setSinkId(this.local.sinkId).catch(() => {});
        }
        this.sink.append(remote.audio);
      }
      remote.audio.dataset.mid = event.transceiver.mid;
      remote.audio.srcObject = new MediaStream([event.track]);
      remote.audio.play().catch(() => {});
    } else {
      remote.videoTrack = event.track;
    }
    this.onChange();
  }

  forget(id) {
    const remote = this.peers.get(id);
    if (!remote) return;
    this.peers.delete(id);
    if (remote.audio) {
      remote.audio.srcObject = null;
      remote.audio.remove();
    }
  }

  /** The camera, a shared screen or nothing, on the publication's video stream. */
  async setVideo(track) {
    const video = this.videoTransceiver();
    if (!video || !this.videoSent) return; // audio only: the camera is off on low bandwidth
    if (video.sender.track !== track) await video.sender.replaceTrack(track || null);
  }

  /** The microphone chosen again (another device): the publication sends the new track. */
  async setAudio(track) {
    if (!this.publisher) return;
    const sender = this.publisher.getTransceivers().find((t) => t.receiver.track.kind === "audio");
    if (sender && sender.sender.track !== track) await sender.sender.replaceTrack(track || null);
  }

  /** Low bandwidth switched: the publication with or without its video. */
  republish() {
    return this.run(() => this.publish());
  }

  // The mesh's signalling events mean nothing here: the SFU carries everyone.
  add() {}
  remove() {}
  identify() {
    return true;
  }
  handleSignal() {
    return Promise.resolve();
  }

  fail(error) {
    this.error = String((error && error.message) || error);
    document.getElementById("room").dataset.sfuError = this.error;
    this.onChange();
  }

  close() {
    this.closed = true;
    window.clearInterval(this.timer);
    for (const id of [...this.peers.keys()]) this.forget(id);
    if (this.publisher) this.publisher.close();
    if (this.subscriber) this.subscriber.close();
    this.publisher = this.subscriber = null;
  }

  /** Who speaks (audio level of each stream) and how each link is (loss, round trip), once a second. */
  async readStats() {
    if (this.subscriber && this.subscriber.connectionState !== "closed") {
      try {
        const report = await this.subscriber.getStats();
        let roundTrip = null;
        report.forEach((entry) => {
          if (entry.type === "candidate-pair" && entry.nominated && entry.currentRoundTripTime !== undefined) {
            roundTrip = entry.currentRoundTripTime;
          }
        });
        report.forEach((entry) => {
          if (entry.type !== "inbound-rtp" || entry.kind !== "audio") return;
          const stream = this.streams.get(entry.mid);
          const remote = stream && this.peers.get(stream.peer_id);
          if (!remote) return;
          if (remote.audio) remote.audio.dataset.packetsReceived = String(entry.packetsReceived || 0);
          remote.speaking = (entry.audioLevel || 0) > SPEAKING_LEVEL;
          remote.quality = linkQuality(this.previous, entry.mid, entry, roundTrip);
        });
      } catch {
        // Closed while reading: the next round skips it.
      }
    }
    if (this.publisher && this.publisher.connectionState !== "closed") {
      try {
        const report = await this.publisher.getStats();
        report.forEach((entry) => {
          if (entry.type === "remote-inbound-rtp" && entry.kind === "audio") {
            this.selfQuality = linkQuality(this.previous, "self", entry, entry.roundTripTime ?? null);
          }
        });
      } catch {
        // as above
      }
    }
    this.onChange();
  }
}
