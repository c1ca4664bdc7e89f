/** The ssh2 errors after which a command never started and may be put back: a refused channel (sshd's `MaxSessions`: `reason` is set) or a connection gone before the channel opened. */
export function isChannelRefusal(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    "reason" in error || error.message === "No response from server" || error.message === "Not connected"
  );
}

/**
 * How many channels one connection may hold, learnt from sshd. It starts at the configured
 * `maxChannelsPerConnection` and is lowered when sshd refuses a channel (its `MaxSessions`), but
 * never below the most channels the connection has already held at once: sshd frees a closed
 * session a moment after it says so, and a refusal in that moment says nothing about the limit
 * (a later success that proves a higher limit raises it again, up to the configured maximum).
 */
export class ChannelBudget {
  /** Channels the pool may grant at once. */
  limit: number;
  /** Channels granted (exec channels and opens in flight). */
  leases = 0;
  /** Whether the connection's sftp session holds a channel. */
  sftpHeld = false;
  readonly #max: number;
  #peak = 0;
  readonly #opens = new Set<number>();
  #nextOpen = 0;

  constructor(limit: number) {
    this.limit = limit;
    this.#max = limit;
  }

  /** Channels in use: leases plus the sftp session. */
  get inUse(): number {
    return this.leases + (this.sftpHeld ? 1 : 0);
  }

  get hasRoom(): boolean {
    return this.inUse < this.limit;
  }

  /** Starts accounting for one channel open; returns its sequence number. */
  beginOpen(): number {
    const seq = this.#nextOpen++;
    this.#opens.add(seq);
    return seq;
  }

  /** Open `seq` succeeded: sshd allows at least this many at once, even if a refusal said less. */
  opened(seq: number): void {
    this.#peak = Math.max(this.#peak, this.#ahead(seq) + 1);
    this.limit = Math.max(this.limit, Math.min(this.#peak, this.#max));
  }

  /** Open `seq` was refused by the server: lower the limit to what the server held then. */
  refused(seq: number): void {
    const ahead = this.#ahead(seq);
    this.#opens.delete(seq);
    this.limit = Math.min(this.limit, Math.max(1, this.#peak, ahead));
  }

  /** The channel opened as `seq` failed or has closed. */
  endOpen(seq: number): void {
    this.#opens.delete(seq);
  }

  /**
   * Channels sshd held when it answered open `seq`: it answers opens in order, so every earlier open
   * that was not refused (plus the sftp session) counted against its `MaxSessions` at that moment.
   */
  #ahead(seq: number): number {
    let ahead = this.sftpHeld ? 1 : 0;
    for (const other of this.#opens) if (other < seq) ahead += 1;
    return ahead;
  }
}
