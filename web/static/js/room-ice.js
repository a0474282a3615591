// The room's ICE servers (docs/api.md "Tickets and ICE servers"). A TURN credential is minted for a short
// time (CELLMEET_TURN_TTL_SECONDS, 10 min at most) and coturn refuses a new allocation with an expired
// one, so every new peer connection and every ICE restart asks for the list through `fresh()`: the one
// in hand while it is younger than half its lifetime, else a new one from the server. Ages are measured
// on this page's own clock from when a list arrived, never by comparing it with the server's.

// A join ack's list says nothing of its lifetime: it is trusted this long (half the shortest lifetime
// the server accepts), then the first new connection asks the REST route, whose answer says.
const ACK_TRUST_MS = 2000;

function carriesCredential(servers) {
  return servers.some((server) => server.username || server.credential);
}

export class IceServers {
  /** `servers`: the join ack's `media.ice_servers`, minted just now for this member and meeting. */
  constructor(meetingId, servers) {
    this.meetingId = meetingId;
    this.accept(servers || [], null);
    this.pending = null;
  }

  accept(servers, ttlSeconds) {
    this.servers = servers;
    this.receivedAt = performance.now();
    this.maxAgeMs = ttlSeconds ? (ttlSeconds * 1000) / 2 : ACK_TRUST_MS;
  }

  /** Without a credential (no TURN, or only STUN) nothing expires. */
  get stale() {
    return carriesCredential(this.servers) && performance.now() - this.receivedAt >= this.maxAgeMs;
  }

  /** The servers to build a connection with now; on a failure to refresh, the last list (and a note). */
  async fresh() {
    if (!this.stale) return this.servers;
    if (!this.pending) {
      this.pending = this.refresh().finally(() => {
        this.pending = null;
      });
    }
    await this.pending;
    return this.servers;
  }

  async refresh() {
    try {
      const response = await fetch(`/api/v1/meetings/${this.meetingId}/ice-servers`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = await response.json();
      if (!Array.isArray(body.ice_servers)) throw new Error("no ice_servers in the answer");
      this.accept(body.ice_servers, body.ttl_seconds);
    } catch (error) {
      // Fail soft: the connection is still tried with the last list (a STUN or host path may do).
      console.warn("cellmeet: could not refresh the ICE servers; using the last ones", error);
    }
  }
}
