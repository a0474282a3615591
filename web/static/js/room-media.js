// The room's media: this device's microphone, camera and screen, and the mesh of peer connections
// (docs/api.md "The live room"): the newcomer offers to every peer already in the room, the others
// answer. Every connection carries one audio and one video transceiver from its first offer, so turning
// the camera on, off or to a shared screen is a replaceTrack and never a renegotiation.

import { linkQuality, SPEAKING_LEVEL, STATS_EVERY_MS, worst } from "./room-quality.js";

/** This device's media: the microphone (always, if allowed), the camera or a shared screen (on demand). */
export class LocalMedia {
  constructor() {
    this.audioTrack = null;
    this.cameraTrack = null;
    this.screenTrack = null;
    this.context = null;
    this.analyser = null;
    this.meters = new Set();
    this.level = 0;
    // The devices chosen before joining (room-devices.js): null is the system's default.
    this.microphoneId = null;
    this.cameraId = null;
    this.sinkId = null;
  }

  /** The microphone (the chosen one, else the default); a second call replaces the first track. */
  async startMicrophone(deviceId = this.microphoneId) {
    const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    if (deviceId) audio.deviceId = { exact: deviceId };
    const stream = await navigator.mediaDevices.getUserMedia({ audio });
    const muted = this.audioTrack ? !this.audioTrack.enabled : false;
    this.stopMicrophone();
    this.audioTrack = stream.getAudioTracks()[0] || null;
    if (this.audioTrack) this.audioTrack.enabled = !muted;
    this.microphoneId = deviceId || null;
    this.startMeter(stream);
    return this.audioTrack;
  }

  stopMicrophone() {
    if (this.audioTrack) this.audioTrack.stop();
    this.audioTrack = null;
    this.analyser = null;
    if (this.context) this.context.close().catch(() => {});
    this.context = null;
  }

  startMeter(stream) {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    this.context = new Context();
    this.analyser = this.context.createAnalyser();
    this.analyser.fftSize = 512;
    this.context.createMediaStreamSource(stream).connect(this.analyser);
    const samples = new Float32Array(this.analyser.fftSize);
    const analyser = this.analyser;
    const tick = () => {
      if (this.analyser !== analyser) return; // stopped, or another microphone chosen
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += sample * sample;
      // RMS of speech is small; scale it so normal speech fills about half the meter.
      const enabled = this.audioTrack && this.audioTrack.enabled;
      this.level = enabled ? Math.min(1, Math.sqrt(sum / samples.length) * 4) : 0;
      for (const meter of this.meters) meter.value = this.level;
      window.requestAnimationFrame(tick);
    };
    window.requestAnimationFrame(tick);
  }

  /** Browsers start an audio context suspended until the user acts on the page. */
  resume() {
    if (this.context && this.context.state === "suspended") this.context.resume().catch(() => {});
  }

  setMuted(muted) {
    if (this.audioTrack) this.audioTrack.enabled = !muted;
  }

  async startCamera() {
    const video = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { max: 24 } };
    if (this.cameraId) video.deviceId = { exact: this.cameraId };
    const stream = await navigator.mediaDevices.getUserMedia({ video });
    this.cameraTrack = stream.getVideoTracks()[0];
    return this.cameraTrack;
  }

  stopCamera() {
    if (this.cameraTrack) this.cameraTrack.stop();
    this.cameraTrack = null;
  }

  async startScreen(onEnded) {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    this.screenTrack = stream.getVideoTracks()[0];
    // The browser's own "stop sharing" bar ends the track.
    this.screenTrack.addEventListener("ended", onEnded, { once: true });
    return this.screenTrack;
  }

  stopScreen() {
    if (this.screenTrack) this.screenTrack.stop();
    this.screenTrack = null;
  }

  /** What this device sends as video: a shared screen wins over the camera. */
  get videoTrack() {
    return this.screenTrack || this.cameraTrack;
  }

  stopAll() {
    this.stopScreen();
    this.stopCamera();
    this.stopMicrophone();
  }
}

/** One remote participant's connection. */
class Peer {
  constructor({ peer_id, member_id, full_name }, offerer) {
    this.id = peer_id;
    this.memberId = member_id;
    this.name = full_name;
    this.offerer = offerer;
    this.pc = null;
    this.pending = [];
    this.queue = Promise.resolve();
    this.videoTrack = null;
    this.state = "new";
    this.packetsReceived = 0;
    this.speaking = false;
    this.quality = null; // "good" | "fair" | "poor" from the link's loss and round trip
    this.sentQuality = null; // how our audio reaches them (their receiver's report)
    this.previous = new Map();
    this.audio = document.createElement("audio");
    this.audio.autoplay = true;
    this.audio.dataset.peerId = peer_id;
    this.audio.dataset.memberId = String(member_id);
    this.audio.dataset.packetsReceived = "0";
  }
}

export class Mesh {
  /**
   * ice: the room's IceServers (room-ice.js: the join ack's list, refreshed before its TURN credential
   * runs out; never a hard-coded STUN); local: LocalMedia; sink: where the audio elements go;
   * send(to, payload): relays a description or candidate; onChange(): peers changed;
   * reportFailure(): tells the server a peer connection failed (its ICE failures metric);
   * lowBandwidth(): true while this member saves data (no video sent or received).
   */
  constructor({ ice, local, sink, send, onChange, reportFailure = () => {}, lowBandwidth = () => false }) {
    this.lowBandwidth = lowBandwidth;
    this.ice = ice;
    this.local = local;
    this.sink = sink;
    this.send = send;
    this.onChange = onChange;
    this.reportFailure = reportFailure;
    this.peers = new Map();
    this.closed = false;
    this.selfQuality = null;
    this.timer = window.setInterval(() => this.readStats(), STATS_EVERY_MS);
  }

  /** A peer of the room: the newcomer (`offer` true) offers at once; the others wait for its offer. */
  add(info, { offer }) {
    if (this.closed || this.peers.has(info.peer_id)) return this.peers.get(info.peer_id);
    const peer = new Peer(info, offer);
    // The speaker chosen before joining, where the browser lets a page choose (setSinkId).
    if (this.local.sinkId && typeof peer.audio.setSinkId === "function") {
      peer.audio.setSinkId(this.local.sinkId).catch(() => {});
    }
    this.peers.set(peer.id, peer);
    this.sink.append(peer.audio);
    // Its signals wait in the queue until the connection exists (built with fresh ICE servers).
    peer.queue = this.connect(peer)
      .then(() => offer && peer.pc && this.offer(peer))
      .catch((error) => this.fail(peer, error));
    this.onChange();
    return peer;
  }

  async connect(peer) {
    const iceServers = await this.ice.fresh();
    if (this.closed || this.peers.get(peer.id) !== peer) return; // removed meanwhile
    const pc = new RTCPeerConnection({ iceServers });
    peer.pc = pc;
    pc.addEventListener("icecandidate", (event) => {
      this.send(peer.id, { candidate: event.candidate ? event.candidate.toJSON() : null });
    });
    pc.addEventListener("track", (event) => {
      if (event.track.kind === "audio") {
        peer.audio.srcObject = new MediaStream([event.track]);
        peer.audio.play().catch(() => {});
      } else {
        peer.videoTrack = event.track;
        this.onChange();
      }
    });
    pc.addEventListener("connectionstatechange", () => {
      peer.state = pc.connectionState;
      peer.audio.dataset.state = peer.state;
      // Both sides report a failure (each page sees its own); the operator's /metrics counts them.
      if (pc.connectionState === "failed" && !this.closed) this.reportFailure();
      // Only the side that offered restarts ICE, so both sides never offer at once.
      if (pc.connectionState === "failed" && peer.offerer && !this.closed) {
        peer.queue = peer.queue
          .then(() => this.restart(peer))
          .catch((error) => this.fail(peer, error));
      }
      this.onChange();
    });
  }

  /** The ICE servers in hand, refreshed if their credential is getting old, for a connection's restart. */
  async refreshIce(pc) {
    const iceServers = await this.ice.fresh();
    if (pc.connectionState === "closed") return;
    pc.setConfiguration({ ...pc.getConfiguration(), iceServers });
  }

  async restart(peer) {
    if (this.closed || !peer.pc) return;
    await this.refreshIce(peer.pc);
    peer.pc.restartIce();
    await this.offer(peer);
  }

  async offer(peer) {
    const { pc } = peer;
    if (pc.getTransceivers().length === 0) {
      pc.addTransceiver("audio", { direction: "sendrecv" });
      pc.addTransceiver("video", { direction: this.videoDirection() });
      await this.attachTracks(peer);
    }
    await pc.setLocalDescription(await pc.createOffer());
    this.send(peer.id, { description: pc.localDescription.toJSON() });
  }

  /** Video both ways, or none at all while saving data (the other side then sends us none). */
  videoDirection() {
    return this.lowBandwidth() ? "inactive" : "sendrecv";
  }

  /** Our microphone and current video on this peer's senders (an answerer's come from the offer). */
  async attachTracks(peer) {
    for (const transceiver of peer.pc.getTransceivers()) {
      const kind = transceiver.receiver.track.kind;
      const direction = kind === "video" ? this.videoDirection() : "sendrecv";
      if (transceiver.direction !== direction) transceiver.direction = direction;
      const track = kind === "audio" ? this.local.audioTrack : this.local.videoTrack;
      if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track || null);
    }
  }

  /**
   * Low bandwidth switched on a mesh: each connection is offered again with video inactive (or back to
   * both ways), so the others stop sending video to this member. The other side answers an offer at
   * any time; it offers itself only to restart a failed connection.
   */
  renegotiateVideo() {
    for (const peer of this.peers.values()) {
      if (!peer.pc || !peer.pc.remoteDescription) continue;
      peer.queue = peer.queue
        .then(async () => {
          if (this.closed || peer.pc.signalingState !== "stable") return;
          await this.attachTracks(peer);
          await peer.pc.setLocalDescription(await peer.pc.createOffer());
          this.send(peer.id, { description: peer.pc.localDescription.toJSON() });
        })
        .catch((error) => this.fail(peer, error));
    }
  }

  /** Signals of one peer are handled one after the other, in the order they came. */
  handleSignal(signal) {
    if (this.closed) return Promise.resolve();
    // A signal can outrun its peer-joined event: take the peer from the signal then.
    const peer =
      this.peers.get(signal.from) || this.add({ peer_id: signal.from, member_id: null, full_name: "" }, { offer: false });
    peer.queue = peer.queue.then(() => this.apply(peer, signal)).catch((error) => this.fail(peer, error));
    return peer.queue;
  }

  async apply(peer, { description, candidate }) {
    if (this.closed) return;
    if (!peer.pc) return; // removed before its connection was made
    if (description) {
      // A second offer is the other side's ICE restart: ours gathers again, with fresh credentials.
      if (description.type === "offer" && peer.pc.remoteDescription) await this.refreshIce(peer.pc);
      await peer.pc.setRemoteDescription(description);
      if (description.type === "offer") {
        await this.attachTracks(peer);
        await peer.pc.setLocalDescription(await peer.pc.createAnswer());
        this.send(peer.id, { description: peer.pc.localDescription.toJSON() });
      }
      for (const waiting of peer.pending.splice(0)) await peer.pc.addIceCandidate(waiting);
    } else if (candidate) {
      if (peer.pc.remoteDescription) await peer.pc.addIceCandidate(candidate);
      else peer.pending.push(candidate);
    }
  }

  fail(peer, error) {
    peer.state = "failed";
    peer.audio.dataset.state = "failed";
    peer.audio.dataset.error = String((error && error.message) || error);
    this.onChange();
  }

  /** Fill in who a peer is once its peer-joined arrives after its first signal. */
  identify(info) {
    const peer = this.peers.get(info.peer_id);
    if (!peer) return false;
    peer.memberId = info.member_id;
    peer.name = info.full_name;
    peer.audio.dataset.memberId = String(info.member_id);
    this.onChange();
    return true;
  }

  /** The camera, the screen or nothing, sent to every peer. */
  async setVideo(track) {
    await Promise.all(
      [...this.peers.values()].map(async (peer) => {
        if (!peer.pc) return; // still being made: attachTracks gives it the current video
        const sender = peer.pc.getTransceivers().find((t) => t.receiver.track.kind === "video");
        if (sender && sender.sender.track !== track) await sender.sender.replaceTrack(track || null);
      }),
    );
  }

  remove(peerId) {
    const peer = this.peers.get(peerId);
    if (!peer) return;
    this.peers.delete(peerId);
    if (peer.pc) peer.pc.close();
    peer.audio.srcObject = null;
    peer.audio.remove();
    this.onChange();
  }

  close() {
    this.closed = true;
    window.clearInterval(this.timer);
    for (const id of [...this.peers.keys()]) this.remove(id);
  }

  async readStats() {
    let changed = false;
    for (const peer of this.peers.values()) {
      if (!peer.pc || peer.pc.connectionState === "closed") continue;
      try {
        const report = await peer.pc.getStats();
        let roundTrip = null;
        report.forEach((entry) => {
          if (entry.type === "candidate-pair" && entry.nominated && entry.currentRoundTripTime !== undefined) {
            roundTrip = entry.currentRoundTripTime;
          }
        });
        report.forEach((entry) => {
          if (entry.type === "remote-inbound-rtp" && entry.kind === "audio") {
            peer.sentQuality = linkQuality(peer.previous, "sent", entry, entry.roundTripTime ?? roundTrip);
          }
          if (entry.type !== "inbound-rtp" || entry.kind !== "audio") return;
          peer.packetsReceived = entry.packetsReceived || 0;
          peer.audio.dataset.packetsReceived = String(peer.packetsReceived);
          const speaking = (entry.audioLevel || 0) > SPEAKING_LEVEL;
          const quality = linkQuality(peer.previous, "received", entry, roundTrip);
          changed = changed || speaking !== peer.speaking || quality !== peer.quality;
          peer.speaking = speaking;
          peer.quality = quality;
        });
      } catch {
        // A connection closed while reading: the next round skips it.
      }
    }
    // One's own link: the worst of how the others receive us.
    const self = worst([...this.peers.values()].map((peer) => peer.sentQuality));
    changed = changed || self !== this.selfQuality;
    this.selfQuality = self;
    if (changed) this.onChange();
  }
}
