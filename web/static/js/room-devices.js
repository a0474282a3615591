// The pre-join screen: the microphone's level, a camera preview on request, and the network check
// against the server's echo peer (prejoin.js, loaded only when asked for).
import { say } from "./common.js";
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
  button.disabled = false;
}
