// How a connection sounds, from the browser's own statistics (getStats): who is speaking (audio level)
// and a link-quality mark from the packets lost and the round trip over the last second. Shared by the
// mesh and the SFU so both show the same marks for the same link.

export const STATS_EVERY_MS = 1000;
export const SPEAKING_LEVEL = 0.02;

// Speech stays understandable up to a few percent of loss and a few hundred milliseconds of delay.
const GOOD = { loss: 0.02, roundTrip: 0.3 };
const FAIR = { loss: 0.08, roundTrip: 0.7 };

/**
 * "good", "fair" or "poor" for one stream, or null before there is anything to judge. `previous` keeps
 * the last counters under `key`; `entry` is an inbound-rtp (packetsReceived, packetsLost) or a
 * remote-inbound-rtp (fractionLost) report; `roundTrip` in seconds, or null when unknown.
 */
export function linkQuality(previous, key, entry, roundTrip) {
  let loss = null;
  if (typeof entry.fractionLost === "number") {
    loss = entry.fractionLost;
  } else if (typeof entry.packetsReceived === "number") {
    const before = previous.get(key) || { received: 0, lost: 0 };
    const received = entry.packetsReceived - before.received;
    const lost = (entry.packetsLost || 0) - before.lost;
    previous.set(key, { received: entry.packetsReceived, lost: entry.packetsLost || 0 });
    if (received + lost > 0) loss = Math.max(0, lost) / (received + Math.max(0, lost));
  }
  if (loss === null && roundTrip === null) return null;
  const within = (limit) => (loss === null || loss <= limit.loss) && (roundTrip === null || roundTrip <= limit.roundTrip);
  if (within(GOOD)) return "good";
  if (within(FAIR)) return "fair";
  return "poor";
}

/** The worst of several marks (one's own link seen by every peer of a mesh). */
export function worst(marks) {
  const order = ["poor", "fair", "good"];
  for (const mark of order) if (marks.includes(mark)) return mark;
  return null;
}
