// The live room of one meeting: the pre-join check, then the /room socket (docs/api.md "The live room")
// and the mesh of peer connections. Every (re)connection joins again as a new peer and rebuilds the mesh.
import { io } from "/static/vendor/socket.io.esm.min.js";
import { el, say } from "./common.js";
import {
  checkNetwork,
  showMeetingBeforeJoin,
  startDevices,
  startMicrophone,
  togglePreview,
  wireDevices,
} from "./room-devices.js";
import { setButton } from "./room-icons.js";
import { IceServers } from "./room-ice.js";
import { LocalMedia, Mesh } from "./room-media.js";
import { Sfu } from "./room-sfu.js";
import * as breakout from "./room-breakout.js";
import * as chair from "./room-chair.js";
import * as minutes from "./room-minutes.js";
import * as session from "./room-session.js";
import * as stage from "./room-stage.js";
import * as votes from "./room-votes.js";
import { $, reason, showAgenda, showHands, showMeetingStatus, showParticipants, showQuorum, t } from "./room-panels.js";

const root = $("room");
const meetingId = Number(root.dataset.meetingId);
const ACK_TIMEOUT_MS = 10000;
// Votes, the chair's controls and the minutes: each listens to the socket and loads its state on every join.
const extras = [session, votes, chair, minutes, breakout, stage];

const local = new LocalMedia();
const room = {
  socket: null,
  mesh: null,
  earlySignals: [], // signals come before the push that moves this device to a mesh
  restarting: null, // the server's word that it is restarting, until the next join
  self: null,
  joinedOnce: false,
  finished: false,
  muted: false,
  sendingVideo: false,
  maxCameras: 4,
  cameras: new Set(),
  hands: [],
  presence: null,
  chairId: null,
  iceServers: null,
  mode: "mesh",
  lowBandwidth: false,
};

/* ---- low bandwidth (tiết kiệm dữ liệu): remembered on this device for the member ---- */

const SAVED_LAST = "cellmeet.lowBandwidth.lastMember";
const savedKey = (memberId) => `cellmeet.lowBandwidth.member.${memberId}`;

function savedLowBandwidth(memberId) {
  try {
    const id = memberId ?? window.localStorage.getItem(SAVED_LAST);
    return id !== null && window.localStorage.getItem(savedKey(id)) === "1";
  } catch {
    return false; // storage refused (a private window): the choice lasts for this page only
  }
}

function saveLowBandwidth(memberId, on) {
  try {
    window.localStorage.setItem(SAVED_LAST, String(memberId));
    window.localStorage.setItem(savedKey(memberId), on ? "1" : "0");
  } catch {
    // as above
  }
}

function setState(state) {
  root.dataset.state = state;
}

/* ---- the socket ---- */

function connect() {
  // Retries at most about 2 s apart (socket.io's default grows to 5 s, ±50 %): after a restart or a
  // process's meetings moving, members are back within a few seconds of the server listening again.
  const socket = io("/room", { path: "/socket.io", transports: ["websocket"], reconnectionDelayMax: 2000 });
  room.socket = socket;
  socket.on("connect", join);
  socket.on("disconnect", dropped);
  socket.on("server_restarting", ({ message }) => {
    room.restarting = message; // shown while the connection is down, in place of "reconnecting"
    showConnection(message);
  });
  socket.on("connect_error", (error) => {
    // Refused by the server (no session, ...): socket.io does not retry; a network failure it retries.
    if (!socket.active) refuse((error.data && error.data.message) || reason(error));
    else showConnection(t("reconnecting"));
  });
  socket.on("peer-joined", (peer) => {
    if (room.mesh && !room.mesh.identify(peer)) room.mesh.add(peer, { offer: false });
  });
  socket.on("peer-left", ({ peer_id }) => room.mesh && room.mesh.remove(peer_id));
  socket.on("signal", (signal) => {
    if (room.mesh instanceof Mesh) room.mesh.handleSignal(signal);
    // A peer back on the mesh (the media server lost) can offer before this device's push arrives.
    else if (room.earlySignals.length < 200) room.earlySignals.push(signal);
  });
  socket.on("media", mediaChanged);
  socket.on("sfu-feeds", ({ feeds }) => room.mesh instanceof Sfu && room.mesh.refresh(feeds));
  socket.on("sfu-offer", (offer) => room.mesh instanceof Sfu && room.mesh.handleOffer(offer));
  socket.on("breakout", ({ peers }) => meetOnly(peers));
  socket.on("presence", (presence) => {
    room.presence = presence;
    drawParticipants();
  });
  socket.on("quorum", showQuorum);
  socket.on("hands", ({ hands }) => setHands(hands));
  socket.on("cameras", setCameras);
  socket.on("meeting-state", meetingState);
  socket.on("error", (error) => say($("controls-error"), error && error.message));
  for (const extra of extras) extra.listen(socket);
}

async function join() {
  setState("joining");
  let reply;
  try {
    // The choice saved on this device (for the member who last joined here): the room may move to
    // the SFU for it before anyone negotiates a mesh.
    room.lowBandwidth = savedLowBandwidth(null);
    reply = await room.socket
      .timeout(ACK_TIMEOUT_MS)
      .emitWithAck("join", { meeting_id: meetingId, low_bandwidth: room.lowBandwidth });
  } catch {
    // No answer in time: start this connection again.
    room.socket.disconnect().connect();
    return;
  }
  if (!reply.ok) {
    const { message, rule } = reply.error;
    refuse(rule && !message.includes(rule) ? `${message} (${rule})` : message);
    return;
  }
  room.self = reply.self;
  room.restarting = null;
  room.maxCameras = reply.media.max_cameras;
  const { state } = reply;
  room.chairId = state.meeting.chair_id;
  showMeetingStatus(state.meeting);
  showQuorum(state.quorum);
  showAgenda(state.agenda);
  room.presence = state.presence;
  setCameras(state.cameras);
  setHands(state.hands);
  room.iceServers = reply.media.ice_servers;
  const saved = savedLowBandwidth(room.self.member_id);
  if (saved !== room.lowBandwidth) {
    // Another member joined last on this device: this member's own choice counts.
    room.lowBandwidth = saved;
    room.socket.emit("low-bandwidth", { on: saved }, () => {});
  }
  saveLowBandwidth(room.self.member_id, room.lowBandwidth);
  drawLowBandwidth();
  if (reply.media.mode === "sfu") {
    useSfu();
  } else {
    useMesh(reply.peers, () => true); // the newcomer offers to everyone already there
  }
  drawMediaMode();
  if (room.sendingVideo) await announceVideo(true);
  room.joinedOnce = true;
  stage.rememberJoined(meetingId, true);
  $("prejoin").hidden = true;
  $("in-room").hidden = false;
  showConnection("");
  drawTiles();
  setState("joined");
  for (const extra of extras) extra.joined(reply, { meetingId, socket: room.socket });
  if (state.meeting.status === "closed") meetingState(state.meeting);
}

/**
 * A split began, changed or ended: keep the connections to the peers the server lists, close the
 * others (their audio stops at once) and open the missing ones. Of two devices meeting again, the one
 * with the smaller peer id offers, so they never both offer.
 */
function meetOnly(peers) {
  if (!room.mesh || !room.self) return;
  if (room.mesh instanceof Sfu) {
    room.mesh.refresh(); // the server subscribes each member to their group only
    return;
  }
  const wanted = new Map((peers || []).map((peer) => [peer.peer_id, peer]));
  for (const id of [...room.mesh.peers.keys()]) if (!wanted.has(id)) room.mesh.remove(id);
  for (const peer of wanted.values()) {
    if (!room.mesh.peers.has(peer.peer_id)) room.mesh.add(peer, { offer: room.self.peer_id < peer.peer_id });
  }
}

/** A direct mesh with these peers; `offersTo(peer)`: whether this device makes the offer. */
function useMesh(peers, offersTo) {
  closeMesh();
  room.mode = "mesh";
  room.mesh = new Mesh({
    ice: new IceServers(meetingId, room.iceServers),
    local,
    sink: $("audio-sinks"),
    send: (to, payload) => room.socket.emit("signal", { to, ...payload }, () => {}),
    onChange: drawTiles,
    reportFailure: () => room.socket.emit("ice-failed", {}, () => {}),
    lowBandwidth: () => room.lowBandwidth,
  });
  for (const peer of peers) room.mesh.add(peer, { offer: offersTo(peer) });
  for (const signal of room.earlySignals.splice(0)) room.mesh.handleSignal(signal);
}

/**
 * The room's media changed under it (the `media` push): moved to the SFU; or the unit's media server
 * was lost (`sfu: "lost"`: back to a mesh with the peers listed when the room is small enough, else
 * waiting for it, audio paused) or answers again (`sfu: "back"`: publish and subscribe anew). Never a
 * rejoin: presence, hands and votes are untouched. The server's message is in this member's language.
 */
function mediaChanged(push) {
  if (!room.self) return;
  showMediaNotice(push);
  if (push.sfu === "lost" && push.mode === "mesh") {
    useMesh(push.peers || [], (peer) => room.self.peer_id < peer.peer_id); // never both offer
  } else if (push.sfu === "lost") {
    closeMesh(); // its connections to the media server are dead; the room waits for it
    room.mode = "sfu";
  } else if (push.mode === "sfu") {
    if (push.sfu === "back") closeMesh();
    useSfu();
  }
  drawMediaMode();
  drawTiles();
}

let mediaNoticeTimer = null;

function showMediaNotice(push) {
  const notice = $("media-notice");
  window.clearTimeout(mediaNoticeTimer);
  notice.dataset.sfu = push.sfu || "";
  notice.hidden = !push.message;
  say(notice, push.message || "");
  // "back" and a move to the mesh are news, shown a while; waiting for the server stays shown
  if (push.sfu === "back" || push.mode === "mesh") {
    mediaNoticeTimer = window.setTimeout(() => {
      notice.hidden = true;
    }, 15000);
  }
}

/**
 * The room goes through the unit's SFU (the join said so, or the `media` push): the mesh closes and
 * this device publishes once and hears everyone on one connection. Mute, hand, agenda and votes are
 * the room's state, untouched; the camera goes on in the publication if it was on.
 */
function useSfu() {
  if (room.mesh instanceof Sfu) return;
  closeMesh();
  room.earlySignals = [];
  room.mode = "sfu";
  room.mesh = new Sfu({
    ice: new IceServers(meetingId, room.iceServers),
    local,
    sink: $("audio-sinks"),
    socket: room.socket,
    onChange: drawTiles,
    lowBandwidth: () => room.lowBandwidth,
    reportFailure: () => room.socket.emit("ice-failed", {}, () => {}),
  });
  room.mesh.start();
  drawMediaMode();
  drawTiles();
}

/** Where the media goes now, said in words: through the unit's server, or directly between members. */
function drawMediaMode() {
  const notice = $("media-mode");
  root.dataset.media = room.mode;
  notice.hidden = room.mode !== "sfu";
  say(notice, room.mode === "sfu" ? t("media_via_server") : "");
}

/** The low-bandwidth switch: audio only, no video sent or received; on a mesh it asks for the SFU. */
async function toggleLowBandwidth() {
  const button = $("low-bandwidth");
  button.disabled = true;
  room.lowBandwidth = !room.lowBandwidth;
  saveLowBandwidth(room.self.member_id, room.lowBandwidth);
  try {
    if (room.lowBandwidth && room.sendingVideo) await giveBackVideo();
    const reply = await room.socket.timeout(ACK_TIMEOUT_MS).emitWithAck("low-bandwidth", { on: room.lowBandwidth });
    if (!reply.ok) say($("controls-error"), reply.error.message);
    else if (reply.topology.mode === "sfu") useSfu();
    if (room.mesh instanceof Sfu) await room.mesh.republish();
    else if (room.mesh) room.mesh.renegotiateVideo();
  } catch {
    say($("controls-error"), t("reconnecting"));
  } finally {
    button.disabled = false;
    drawLowBandwidth();
    drawTiles();
  }
}

function drawLowBandwidth() {
  const button = $("low-bandwidth");
  button.setAttribute("aria-pressed", room.lowBandwidth ? "true" : "false");
  root.dataset.lowBandwidth = room.lowBandwidth ? "true" : "false";
  $("camera").disabled = room.lowBandwidth;
  $("share").disabled = room.lowBandwidth;
  const hint = $("low-bandwidth-hint");
  hint.hidden = !room.lowBandwidth;
}

function closeMesh() {
  if (room.mesh) room.mesh.close();
  room.mesh = null;
}

function dropped(why) {
  closeMesh();
  if (room.finished) return;
  setState("reconnecting");
  showConnection(room.restarting || t("reconnecting"));
  // The server closed this connection (not the network): socket.io waits to be told to come back.
  if (why === "io server disconnect") room.socket.connect();
}

/** The server refused us: its message, already in our language; nothing retries. */
function refuse(message) {
  if (room.joinedOnce) {
    finish(message, "refused");
    return;
  }
  room.finished = true;
  stage.rememberJoined(meetingId, false);
  closeMesh();
  if (room.socket) room.socket.disconnect();
  setState("refused");
  say($("join-error"), message);
  $("join").disabled = false;
}

function showConnection(text) {
  const notice = $("connection");
  notice.hidden = !text;
  say(notice, text);
}

function meetingState(meeting) {
  showMeetingStatus(meeting);
  if (meeting.status !== "closed") return;
  finish(t("status_closed_now"), "closed");
}

function finish(message, state) {
  room.finished = true;
  stage.rememberJoined(meetingId, false);
  closeMesh();
  if (room.socket) room.socket.disconnect();
  local.stopAll();
  $("in-room").hidden = true;
  $("prejoin").hidden = true;
  $("left").hidden = false;
  say($("left-message"), message);
  setState(state);
}

/* ---- in the room ---- */

function drawParticipants() {
  if (!room.presence || !room.self) return;
  const speaking = new Set();
  const quality = new Map();
  if (room.mesh) {
    for (const peer of room.mesh.peers.values()) {
      if (peer.speaking) speaking.add(peer.memberId);
      if (peer.quality) quality.set(peer.memberId, peer.quality);
    }
    if (room.mesh.selfQuality) quality.set(room.self.member_id, room.mesh.selfQuality);
  }
  showParticipants(room.presence, {
    selfId: room.self.member_id,
    chairId: room.chairId,
    hands: room.hands,
    speaking,
    quality,
  });
  const mine = quality.get(room.self.member_id);
  const link = $("my-link");
  link.dataset.quality = mine || "";
  say(link, mine ? t("my_link", { quality: t(`link_${mine}`) }) : "");
  const names = (room.presence.participants || [])
    .filter((person) => speaking.has(person.member_id))
    .map((person) => person.full_name);
  const line = $("speaking-now");
  line.hidden = names.length === 0;
  say(line, names.length ? t("speaking_now", { names: names.join(", ") }) : "");
}

function setHands(hands) {
  room.hands = hands || [];
  showHands(room.hands, { selfId: room.self.member_id, isChair: room.self.is_chair, lower: lowerOther });
  drawParticipants();
}

function setCameras(cameras) {
  room.cameras = new Set((cameras && cameras.member_ids) || []);
  if (cameras && cameras.max_cameras) room.maxCameras = cameras.max_cameras;
  drawTiles();
}

/** Ask the server for a video slot (or give it back); false when refused. */
async function announceVideo(on) {
  const reply = await room.socket.timeout(ACK_TIMEOUT_MS).emitWithAck("camera", { on });
  if (reply.ok) {
    setCameras(reply.cameras);
    return true;
  }
  const limit = reply.error.code === "camera_limit";
  say($("controls-error"), limit ? t("camera_limit", { max: room.maxCameras }) : reply.error.message);
  if (on) stopVideo();
  return false;
}

async function stopVideo() {
  local.stopCamera();
  local.stopScreen();
  room.sendingVideo = false;
  if (room.mesh) await room.mesh.setVideo(null);
  drawControls();
  drawTiles();
}

async function useVideo(start, failedKey) {
  const button = failedKey === "share_failed" ? $("share") : $("camera");
  button.disabled = true;
  say($("controls-error"), "");
  try {
    if (!room.sendingVideo && !(await announceVideo(true))) return;
    room.sendingVideo = true;
    await start();
    if (room.mesh) await room.mesh.setVideo(local.videoTrack);
  } catch (error) {
    say($("controls-error"), t(failedKey, { reason: reason(error) }));
    if (!local.videoTrack) await giveBackVideo();
  } finally {
    button.disabled = false;
    drawControls();
    drawTiles();
  }
}

async function giveBackVideo() {
  await stopVideo();
  await announceVideo(false).catch(() => {});
}

async function toggleCamera() {
  if (local.cameraTrack) {
    local.stopCamera();
    if (!local.videoTrack) await giveBackVideo();
    drawControls();
    return;
  }
  await useVideo(() => local.startCamera(), "camera_failed");
}

async function toggleShare() {
  if (local.screenTrack) {
    await endShare();
    return;
  }
  await useVideo(() => local.startScreen(endShare), "share_failed");
}

async function endShare() {
  local.stopScreen();
  // Back to the camera if it was on, else no video at all.
  if (local.videoTrack && room.mesh) await room.mesh.setVideo(local.videoTrack);
  if (!local.videoTrack) await giveBackVideo();
  drawControls();
  drawTiles();
}

function toggleMute() {
  room.muted = !room.muted;
  local.setMuted(room.muted);
  drawControls();
  drawTiles();
}

async function toggleHand() {
  const button = $("hand");
  const raised = button.getAttribute("aria-pressed") !== "true";
  button.disabled = true;
  await sendHand({ raised });
  button.disabled = false;
}

async function lowerOther(memberId, button) {
  button.disabled = true;
  await sendHand({ raised: false, member_id: memberId });
}

async function sendHand(payload) {
  try {
    const reply = await room.socket.timeout(ACK_TIMEOUT_MS).emitWithAck("hand", payload);
    if (reply.ok) setHands(reply.hands);
    else say($("controls-error"), reply.error.message);
  } catch {
    say($("controls-error"), t("reconnecting"));
  }
}

async function leave() {
  $("leave").disabled = true;
  try {
    await room.socket.timeout(3000).emitWithAck("leave", {});
  } catch {
    // Not connected: the server counts the drop after its grace.
  }
  finish(t("left"), "left");
}

function drawControls() {
  const set = (id, pressed, [iconOn, on], [iconOff, off]) => {
    const button = $(id);
    button.setAttribute("aria-pressed", pressed ? "true" : "false");
    setButton(button, pressed ? iconOn : iconOff, pressed ? on : off);
  };
  set("mute", room.muted, ["mic-off", t("unmute")], ["mic", t("mute")]);
  set("camera", Boolean(local.cameraTrack), ["camera", t("camera_off")], ["camera-off", t("camera_on")]);
  set("share", Boolean(local.screenTrack), ["screen", t("share_off")], ["screen", t("share_on")]);
  $("mute").disabled = !local.audioTrack;
  // The level of one's own microphone, in the mute button (zero while muted).
  if (!$("mute").querySelector(".level")) $("mute").append(levelBar());
}

/** A small bar in the mute button that follows this device's microphone (LocalMedia's meters). */
function levelBar() {
  const bar = el("span", { class: "level", "aria-hidden": "true" }, el("span", { class: "level-fill" }));
  const fill = bar.firstChild;
  let shown = -1;
  local.meters.add({
    set value(level) {
      const rounded = Math.round(level * 20) / 20;
      if (rounded === shown) return;
      shown = rounded;
      fill.style.transform = `scaleX(${rounded})`;
    },
  });
  return bar;
}

/** Where the browser cannot share a screen (no getDisplayMedia; a phone-sized touch screen). */
function canShareScreen() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) return false;
  const touch = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
  const small = Math.min(window.screen.width, window.screen.height) < 600;
  return !(touch && small);
}

/** Own tile always; a remote tile only for a member the server lists as sending video. */
function drawTiles() {
  const tiles = $("tiles");
  const wanted = [];
  if (room.self) {
    wanted.push({ key: "self", name: t("you", { name: room.self.full_name }), track: local.videoTrack, muted: room.muted });
  }
  if (room.mesh) {
    for (const peer of room.mesh.peers.values()) {
      if (room.cameras.has(peer.memberId) && peer.videoTrack && !room.lowBandwidth) {
        wanted.push({ key: peer.id, name: peer.name, track: peer.videoTrack, muted: false, state: peer.state });
      }
    }
  }
  const keep = new Set(wanted.map((tile) => tile.key));
  for (const tile of [...tiles.children]) if (!keep.has(tile.dataset.key)) tile.remove();
  for (const want of wanted) {
    let tile = tiles.querySelector(`[data-key="${CSS.escape(want.key)}"]`);
    if (!tile) {
      const video = el("video", { autoplay: true, playsinline: true, "aria-hidden": "true" });
      video.muted = true;
      tile = el("figure", { class: "tile", "data-key": want.key }, video, el("figcaption", {}));
      tiles.append(tile);
    }
    const video = tile.querySelector("video");
    if ((video.srcObject && video.srcObject.getVideoTracks()[0]) !== want.track) {
      video.srcObject = want.track ? new MediaStream([want.track]) : null;
    }
    video.hidden = !want.track;
    tile.dataset.muted = want.muted ? "true" : "false";
    tile.dataset.video = want.track ? "true" : "false";
    const caption = tile.querySelector("figcaption");
    caption.replaceChildren(want.name, want.muted ? el("span", { class: "muted-mark" }, ` · ${t("muted")}`) : "");
  }
  root.dataset.peers = String(room.mesh ? room.mesh.peers.size : 0);
  drawParticipants();
}

function start() {
  $("preview-camera").addEventListener("click", () => togglePreview(local));
  $("network-check").addEventListener("click", () => checkNetwork(local));
  wireDevices(local);
  $("join").addEventListener("click", () => {
    $("join").disabled = true;
    say($("join-error"), "");
    local.resume();
    // The room starts audio only: the preview camera goes off until turned on in the room.
    if (local.cameraTrack) togglePreview(local);
    room.finished = false;
    setState("connecting");
    connect();
  });
  $("mute").addEventListener("click", toggleMute);
  $("hand").addEventListener("click", toggleHand);
  $("camera").addEventListener("click", toggleCamera);
  $("share").addEventListener("click", toggleShare);
  $("leave").addEventListener("click", leave);
  $("low-bandwidth").addEventListener("click", toggleLowBandwidth);
  // Browsers hold audio until the user acts on the page (after a reload that rejoined by itself, too).
  document.addEventListener(
    "pointerdown",
    () => {
      local.resume();
      for (const audio of $("audio-sinks").querySelectorAll("audio")) if (audio.paused) audio.play().catch(() => {});
    },
    { once: true },
  );
  if (!canShareScreen()) $("share").hidden = true;
  drawControls();
  setButton($("hand"), "hand", t("hand_raise"));
  setButton($("leave"), "leave", $("leave").textContent.trim());
  showMeetingBeforeJoin(meetingId);
  startMicrophone(local)
    .then(() => startDevices(local))
    .then(() => {
      drawControls();
      root.dataset.ready = "true";
      // A reload in the room: this tab had joined and not left, so it joins again without a click.
      if (stage.hadJoined(meetingId)) $("join").click();
    });
}

start();
