// The pre-join screen, a green room: the meeting's state and start in the member's own zone and how many
// are already in, the microphone, camera and speaker to use (with the microphone's level, a camera
// preview and a test tone made here by WebAudio), and the network check against the server's echo peer
// (prejoin.js, loaded only when asked for).
import { api, el, formatTime, say } from "./common.js";
import { $, reason, t } from "./room-panels.js";

// Beyond these a conversation suffers (ITU-T G.114 puts the comfortable one-way delay under 150 ms).
const POOR_RTT_MS = 400;
const POOR_LOSS_PERCENT = 5;

export async function startMicrophone(local) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    say($("mic-error"), t("mic_none"));
    return;
  }
  try {
    await local.startMicrophone();
    local.meters.add($("mic-level"));
  } catch (error) {
    say($("mic-error"), t("mic_failed", { reason: reason(error) }));
  }
}

export async function togglePreview(local) {
  const button = $("preview-camera");
  const video = $("preview");
  if (local.cameraTrack) {
    local.stopCamera();
    video.srcObject = null;
    video.hidden = true;
    button.setAttribute("aria-pressed", "false");
    say(button, t("camera_on"));
    return;
  }
  try {
    video.srcObject = new MediaStream([await local.startCamera()]);
    video.hidden = false;
    button.setAttribute("aria-pressed", "true");
    say(button, t("camera_off"));
  } catch (error) {
    say($("mic-error"), t("camera_failed", { reason: reason(error) }));
  }
}

export async function checkNetwork(local) {
  const button = $("network-check");
  const result = $("network-result");
  button.disabled = true;
  result.className = "message";
  say(result, t("network_checking", { percent: 0 }));
  try {
    // Loaded on demand: the check is optional, and the room works without it.
    const { runEchoCheck } = await import("./prejoin.js");
    const tracks = [local.audioTrack, local.cameraTrack].filter(Boolean);
    const outcome = await runEchoCheck({
      stream: new MediaStream(tracks),
      seconds: 5,
      onProgress: (progress) => {
        const fraction = typeof progress === "number" ? progress : progress && progress.fraction;
        if (typeof fraction === "number") say(result, t("network_checking", { percent: Math.round(fraction * 100) }));
      },
    });
    const numbers = { rtt: Math.round(outcome.rtt_ms || 0), loss: outcome.loss_percent || 0 };
    const good = outcome.ok && numbers.rtt <= POOR_RTT_MS && numbers.loss <= POOR_LOSS_PERCENT;
    if (outcome.error) {
      result.className = "message error";
      say(result, t("network_failed", { reason: outcome.error }));
    } else if (!outcome.ok && tracks.some((track) => track.kind === "audio") && !outcome.audio_received) {
      result.className = "message error";
      say(result, t("network_no_media"));
    } else {
      result.className = good ? "message success" : "message warning";
      say(result, t(good ? "network_ok" : "network_poor", numbers));
    }
  } catch (error) {
    result.className = "message error";
    say(result, error instanceof TypeError ? t("network_unavailable") : t("network_failed", { reason: reason(error) }));
  }
  await checkSfuPath(local);
  button.disabled = false;
}

/**
 * The path to the unit's SFU, which a meeting uses once it is large (or a member saves data): the same
 * check through Janus's echo test. A server without an SFU says so, and nothing is shown.
 */
async function checkSfuPath(local) {
  if ($("room").dataset.sfu !== "true") return; // no SFU on this server: nothing to check
  const result = $("network-sfu-result");
  result.className = "message";
  try {
    const { runEchoCheck } = await import("./prejoin.js");
    const outcome = await runEchoCheck({ stream: new MediaStream([local.audioTrack].filter(Boolean)), seconds: 3, via: "sfu" });
    if (outcome.no_sfu) {
      result.hidden = true;
      return;
    }
    result.hidden = false;
    const numbers = { rtt: Math.round(outcome.rtt_ms || 0), loss: outcome.loss_percent || 0 };
    if (outcome.error || !outcome.ok) {
      result.className = "message error";
      say(result, t("network_sfu_failed", { reason: outcome.error || t("network_no_media") }));
      return;
    }
    const good = numbers.rtt <= POOR_RTT_MS && numbers.loss <= POOR_LOSS_PERCENT;
    result.className = good ? "message success" : "message warning";
    result.dataset.outcome = good ? "ok" : "poor";
    say(result, t(good ? "network_sfu_ok" : "network_sfu_poor", numbers));
  } catch (error) {
    result.hidden = false;
    result.className = "message error";
    say(result, t("network_sfu_failed", { reason: reason(error) }));
  }
}

/** The meeting's state and start time (the viewer's zone), and who is already in when the caller may see it. */
export async function showMeetingBeforeJoin(meetingId) {
  try {
    const meeting = await api("GET", `/api/v1/meetings/${meetingId}`);
    let when;
    if (meeting.status === "open") when = t("status_open", { time: formatTime(meeting.opened_at) });
    else if (meeting.status === "closed") when = t("status_closed", { time: formatTime(meeting.closed_at) });
    else when = `${t("status_scheduled")} · ${t("starts_at", { time: formatTime(meeting.starts_at) })}`;
    $("prejoin-when").dataset.status = meeting.status;
    say($("prejoin-when"), when);
  } catch {
    // The room's own status line says it once joined.
  }
  try {
    // No API lists who is connected before joining; the attendance does: a member connected now has a
    // presence interval that runs to the attendance's "now" (the latest end of all intervals).
    const attendance = await api("GET", `/api/v1/meetings/${meetingId}/attendance`);
    const members = attendance.members || [];
    const lastEnd = (member) => {
      const intervals = member.intervals || [];
      return intervals.length ? intervals[intervals.length - 1].end : null;
    };
    const ends = members.map(lastEnd).filter(Boolean).sort();
    const now = ends[ends.length - 1];
    const here = members.filter(
      (member) => (member.status === "present" || member.status === "late") && now && lastEnd(member) === now,
    ).length;
    const line = $("prejoin-here");
    say(line, here ? t("already_in", { count: here, total: members.length }) : t("already_in_none"));
    line.hidden = false;
  } catch {
    // Not allowed to read it, or not reachable: left out.
  }
}

function deviceLabel(device, index) {
  return device.label || t("device_unnamed", { number: index + 1 });
}

/** Fill a picker with the devices of one kind; "" is the system's default. */
function fill(select, devices, chosen) {
  select.replaceChildren(
    el("option", { value: "" }, t("device_default")),
    ...devices
      .filter((device) => device.deviceId && device.deviceId !== "default")
      .map((device, index) => el("option", { value: device.deviceId }, deviceLabel(device, index))),
  );
  select.value = chosen || "";
  if (select.value !== (chosen || "")) select.value = "";
}

/** The device pickers, once the microphone is allowed (before that the browser hides the names). */
export async function startDevices(local) {
  const devices = navigator.mediaDevices;
  if (!devices || !devices.enumerateDevices) return;
  const speakers = typeof HTMLMediaElement.prototype.setSinkId === "function";
  const draw = async () => {
    const all = await devices.enumerateDevices().catch(() => []);
    const of = (kind) => all.filter((device) => device.kind === kind);
    fill($("mic-select"), of("audioinput"), local.microphoneId);
    fill($("camera-select"), of("videoinput"), local.cameraId);
    $("mic-select").disabled = of("audioinput").length === 0;
    $("camera-select").disabled = of("videoinput").length === 0;
    fill($("speaker-select"), of("audiooutput"), local.sinkId);
    $("speaker-field").hidden = !speakers || of("audiooutput").length === 0;
  };
  await draw();
  if (devices.addEventListener) devices.addEventListener("devicechange", draw);
}

async function chooseMicrophone(local) {
  const select = $("mic-select");
  say($("mic-error"), "");
  select.disabled = true;
  try {
    await local.startMicrophone(select.value || null);
  } catch (error) {
    say($("mic-error"), t("mic_failed", { reason: reason(error) }));
  } finally {
    select.disabled = false;
  }
}

async function chooseCamera(local) {
  local.cameraId = $("camera-select").value || null;
  // A running preview moves to the new camera.
  if (local.cameraTrack) {
    await togglePreview(local);
    await togglePreview(local);
  }
}

/** A short two-note tone made here (no sound file), played on the chosen speaker where it can be chosen. */
async function playTestSound(local) {
  const button = $("test-sound");
  const result = $("test-sound-result");
  const Context = window.AudioContext || window.webkitAudioContext;
  button.disabled = true;
  result.className = "message";
  let context = null;
  try {
    if (!Context) throw new Error(t("unknown_reason"));
    context = new Context();
    const destination = context.createMediaStreamDestination();
    const gain = context.createGain();
    gain.connect(destination);
    const start = context.currentTime + 0.05;
    gain.gain.setValueAtTime(0.0001, start);
    for (const [index, frequency] of [660, 880].entries()) {
      const at = start + index * 0.35;
      const tone = context.createOscillator();
      tone.frequency.value = frequency;
      tone.connect(gain);
      gain.gain.exponentialRampToValueAtTime(0.3, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.3);
      tone.start(at);
      tone.stop(at + 0.32);
    }
    const audio = new Audio();
    audio.srcObject = destination.stream;
    if (local.sinkId && typeof audio.setSinkId === "function") await audio.setSinkId(local.sinkId);
    await context.resume();
    await audio.play();
    say(result, t("test_sound_playing"));
    await new Promise((resolve) => setTimeout(resolve, 900));
    audio.pause();
    audio.srcObject = null;
  } catch (error) {
    result.className = "message error";
    say(result, t("test_sound_failed", { reason: reason(error) }));
  } finally {
    if (context) context.close().catch(() => {});
    button.disabled = false;
  }
}

export function wireDevices(local) {
  $("mic-select").addEventListener("change", () => chooseMicrophone(local));
  $("camera-select").addEventListener("change", () => chooseCamera(local));
  $("speaker-select").addEventListener("change", () => {
    local.sinkId = $("speaker-select").value || null;
  });
  $("test-sound").addEventListener("click", () => playTestSound(local));
}
