// The pre-join device and network check: the browser sends its microphone/camera and a stream of
// small probe messages to the server's echo peer (POST /api/v1/media/echo), which returns them.
// From the echoes it measures round-trip time and loss; from getStats whether the echoed audio and
// video actually arrive. The caller's stream is left running (the room reuses it); only the check's
// own connection is closed.

import { api, ApiError, errorText, t } from "/static/js/common.js";

const ECHO_PATH = "/api/v1/media/echo";
const PROBE_INTERVAL_MS = 100;
const GATHER_TIMEOUT_MS = 5000; // host candidates only: normally a few milliseconds
const CONNECT_TIMEOUT_MS = 10000;
const LATE_ECHO_MS = 1000; // how long the last probes may take to come back

/** Resolve once `ready()` holds, re-checked on `eventName`; reject after `ms`. */
function waitFor(target, eventName, ready, ms, what) {
  return new Promise((resolve, reject) => {
    if (ready()) return resolve();
    const timer = setTimeout(() => {
      target.removeEventListener(eventName, check);
      reject(new Error(`${what} timed out`));
    }, ms);
    function check() {
      if (!ready()) return;
      clearTimeout(timer);
      target.removeEventListener(eventName, check);
      resolve();
    }
    target.addEventListener(eventName, check);
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function median(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Send a probe every 100 ms for `seconds`; `rtts` collects each echo's round trip by sequence number. */
async function probe(channel, seconds, rtts, onProgress) {
  const total = Math.max(1, Math.round((seconds * 1000) / PROBE_INTERVAL_MS));
  for (let seq = 0; seq < total; seq += 1) {
    if (channel.readyState !== "open") throw new Error("probe channel closed");
    channel.send(JSON.stringify({ seq, t: performance.now() }));
    if (onProgress) onProgress({ sent: seq + 1, received: rtts.size, total, fraction: (seq + 1) / total });
    await sleep(PROBE_INTERVAL_MS);
  }
  await sleep(LATE_ECHO_MS);
  return total;
}

/** Whether the echoed audio and video deliver packets (inbound-rtp packetsReceived > 0). */
async function receivedKinds(pc) {
  const kinds = { audio: false, video: false };
  (await pc.getStats()).forEach((report) => {
    if (report.type === "inbound-rtp" && report.packetsReceived > 0) kinds[report.kind || report.mediaType] = true;
  });
  return kinds;
}

/**
 * Check microphone, camera and network against the server's echo peer.
 * Resolves (never rejects) to { ok, rtt_ms, loss_percent, audio_received, video_received, error }:
 * rtt_ms is the median round trip of the probes, error the reason in the page's language or null.
 */
export async function runEchoCheck({ stream, seconds = 5, onProgress, via = "server" } = {}) {
  const result = {
    ok: false,
    rtt_ms: null,
    loss_percent: null,
    audio_received: false,
    video_received: false,
    error: null,
    no_sfu: false, // via "sfu" on a server without one: nothing to check
  };
  // Host candidates only: the server is reachable directly, and no third-party STUN is ever asked.
  const pc = new RTCPeerConnection({ iceServers: [] });
  let sessionId = null;
  try {
    const tracks = stream ? stream.getTracks() : [];
    for (const track of tracks) pc.addTrack(track, stream);
    // Unordered, never retransmitted: a lost probe stays lost, so loss is measurable.
    const channel = pc.createDataChannel("probe", { ordered: false, maxRetransmits: 0 });
    const rtts = new Map();
    channel.onmessage = (event) => {
      try {
        // Janus's echo test sends a probe back after a greeting of its own: the JSON starts at "{".
        const text = String(event.data);
        const echo = JSON.parse(text.slice(text.indexOf("{")));
        if (Number.isInteger(echo.seq) && !rtts.has(echo.seq)) rtts.set(echo.seq, performance.now() - echo.t);
      } catch {
        // not one of our probes: ignored
      }
    };

    // No trickle ICE on the server: send the offer with every candidate in it.
    await pc.setLocalDescription(await pc.createOffer());
    const gathered = () => pc.iceGatheringState === "complete";
    await waitFor(pc, "icegatheringstatechange", gathered, GATHER_TIMEOUT_MS, "ICE gathering");
    const offer = { type: "offer", sdp: pc.localDescription.sdp };
    const answer = await api("POST", ECHO_PATH, { json: via === "sfu" ? { ...offer, via } : offer });
    sessionId = answer.session_id;
    await pc.setRemoteDescription({ type: answer.type, sdp: answer.sdp });
    await waitFor(channel, "open", () => channel.readyState === "open", CONNECT_TIMEOUT_MS, "connection");

    const sent = await probe(channel, seconds, rtts, onProgress);
    const received = await receivedKinds(pc);
    const rtt = median([...rtts.values()]);
    result.rtt_ms = rtt === null ? null : Math.round(rtt * 10) / 10;
    result.loss_percent = Math.round((1000 * (sent - rtts.size)) / sent) / 10;
    result.audio_received = received.audio;
    result.video_received = received.video;
    const wanted = (kind) => tracks.some((track) => track.kind === kind);
    result.ok =
      rtts.size > 0 && (!wanted("audio") || received.audio) && (!wanted("video") || received.video);
  } catch (error) {
    // The server's own message (busy, not logged in, ...) or the generic "something went wrong".
    result.no_sfu = error instanceof ApiError && error.code === "sfu_not_configured";
    result.error = error instanceof ApiError ? errorText(error) : t("unexpected_error");
  } finally {
    // A closed connection also ends the session on the server; DELETE frees the slot at once.
    if (sessionId) await api("DELETE", `${ECHO_PATH}/${encodeURIComponent(sessionId)}`).catch(() => {});
    pc.close();
  }
  return result;
}
