import { OutputCollector } from "@dispatch/workspace-tools";
import type { ClientChannel } from "ssh2";
import { PgidMarkerReader } from "./pgid-marker.ts";

/** How long an interrupted run waits for the group id and then for the channel to close. */
const INTERRUPT_GRACE_MS = 2_000;

/** How a channel run ended. */
export interface ChannelOutcome {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  /** The remote process group, when the wrapper reported it. */
  pgid: number | undefined;
  /** `exited`: the channel closed by itself; `interrupted`: aborted by us; `lost`: the connection died. */
  ending: "exited" | "interrupted" | "lost";
  /** Settles when `killGroup`, started by the interruption, is done (it may outlive the channel). */
  killed: Promise<void> | undefined;
}

/** Options for `runChannel`. */
export interface RunChannelOptions {
  maxOutputBytes: number;
  /** Parse the wrapper's process-group marker at the start of stderr. */
  expectPgid: boolean;
  /** Aborting interrupts the run: signal the process, wait for its group id, close the channel. */
  signal: AbortSignal;
  /**
   * Kills the remote process group on interruption. sshd does not close a session channel while its
   * process runs, so the channel is closed once this is done (or after a grace period, which frees
   * the slot for the kill command when the pool has no other).
   */
  killGroup?: (pgid: number) => Promise<void>;
  /** Subscribes to the loss of the connection under the channel; returns the unsubscribe function. */
  onConnectionClosed(listener: () => void): () => void;
}

/**
 * Collects one exec channel's output and exit status until it closes, the connection dies or the
 * signal aborts. Never rejects.
 */
export function runChannel(channel: ClientChannel, options: RunChannelOptions): Promise<ChannelOutcome> {
  const stdout = new OutputCollector(options.maxOutputBytes);
  const stderr = new OutputCollector(options.maxOutputBytes);
  const marker = options.expectPgid ? new PgidMarkerReader() : undefined;
  let pgid: number | undefined;
  let exitCode: number | null = null;
  let exitSignal: string | null = null;
  let exited = false;
  let onPgid: (() => void) | undefined;
  let killed: Promise<void> | undefined;

  const pushStderr = (chunk: Buffer) => {
    if (marker === undefined || marker.done) {
      stderr.push(chunk);
      return;
    }
    const rest = marker.feed(chunk);
    if (rest.length > 0) stderr.push(rest);
    if (marker.done) {
      pgid = marker.pgid;
      onPgid?.();
    }
  };

  return new Promise<ChannelOutcome>((resolve) => {
    let done = false;
    let interrupted = false;
    let channelClosing = false;
    const timers: Array<ReturnType<typeof setTimeout>> = [];
    const finish = (ending: ChannelOutcome["ending"]) => {
      if (done) return;
      done = true;
      for (const timer of timers) clearTimeout(timer);
      options.signal.removeEventListener("abort", interrupt);
      unsubscribe();
      if (marker !== undefined && !marker.done) {
        // Only a cut-off marker can be held here: not worth showing as stderr.
        marker.flush();
        onPgid?.();
      }
      resolve({
        exitCode,
        signal: exitSignal,
        stdout: stdout.text(),
        stderr: stderr.text(),
        truncated: stdout.truncated || stderr.truncated,
        pgid,
        ending: ending === "lost" && exited ? "exited" : ending,
        killed,
      });
    };

    channel.on("data", (chunk: Buffer) => stdout.push(chunk));
    channel.stderr.on("data", pushStderr);
    channel.on("exit", (code: number | null, signalName?: string) => {
      exited = true;
      exitCode = typeof code === "number" ? code : null;
      exitSignal = typeof signalName === "string" ? signalName : null;
    });
    channel.on("close", () => finish(interrupted ? "interrupted" : "exited"));
    const unsubscribe = options.onConnectionClosed(() => finish(interrupted ? "interrupted" : "lost"));

    function closeChannel() {
      if (done || channelClosing) return;
      channelClosing = true;
      try {
        channel.close();
      } catch {
        // Already closed.
      }
      timers.push(setTimeout(() => finish("interrupted"), INTERRUPT_GRACE_MS));
    }
    function interrupt() {
      if (done || interrupted) return;
      interrupted = true;
      try {
        // OpenSSH ignores signal requests on these sessions, but other servers honour them.
        channel.signal("KILL");
      } catch {
        // The channel is already closing.
      }
      timers.push(setTimeout(closeChannel, INTERRUPT_GRACE_MS));
      // The group id comes first on stderr; closing before it arrives would leave no way to kill.
      if (marker === undefined || marker.done) killThenClose();
      else onPgid = killThenClose;
    }
    function killThenClose() {
      if (pgid === undefined || options.killGroup === undefined || done) return closeChannel();
      killed = options.killGroup(pgid);
      killed.then(closeChannel, closeChannel);
    }
    if (options.signal.aborted) interrupt();
    else options.signal.addEventListener("abort", interrupt, { once: true });
  });
}
