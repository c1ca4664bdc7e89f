/**
 * The whole Dispatch stack in this process for the memory drills: every built-in extension (the list
 * `dispatch serve` installs), a temp data dir, the HTTP API on a loopback port chosen by the OS.
 *
 * Not `createTestHost`: its in-memory logger keeps every log line, which would itself grow the heap
 * the drills measure. Log lines here are rendered (the cost a real host pays) and then dropped,
 * except warnings and errors, which go to stderr and are counted.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHost, createLogger, type Host } from "@dispatch/kernel";
import { type Orchestrator, orchestratorRef } from "@dispatch/session-orchestrator";
import { httpServerRef } from "@dispatch/transport-http";
// Relative imports: the drill needs the real built-in list and services, and the mem-telemetry package
// must not depend on the packages that depend on it (host-bin, session-orchestrator, transport-http).
import { builtinExtensions } from "../../src/index.ts";

/** A running stack and the handles the drills read. */
export interface DrillStack {
  host: Host;
  orchestrator: Orchestrator;
  url: string;
  dataDir: string;
  /** Extension ids installed, in activation order. */
  extensionIds: readonly string[];
  /** Warning and error log lines seen so far, by message. */
  warnings: Map<string, number>;
  /** Stops the host and removes the data dir. */
  stop(): Promise<void>;
}

/** Options for `startDrillStack`. */
export interface DrillStackOptions {
  maxConcurrent: number;
  /** Extra config slices (merged over the drill's defaults at the top level). */
  config?: Record<string, unknown>;
  /** Print warnings to stderr as they happen (default true). */
  echoWarnings?: boolean;
}

/** A scripted provider that answers every turn at once with one short text step. */
export function instantScripted(maxConcurrent: number) {
  return {
    id: "scripted",
    kind: "scripted",
    maxConcurrent,
    script: {
      replies: [],
      fallback: { steps: [{ text: "Soak reply from the scripted provider.", chunks: 2, delayMs: 0 }] },
    },
  };
}

/** Starts every built-in extension with the scripted provider on 127.0.0.1, port 0. */
export async function startDrillStack(options: DrillStackOptions): Promise<DrillStack> {
  const dataDir = mkdtempSync(join(tmpdir(), "dispatch-drill-"));
  const warnings = new Map<string, number>();
  const echo = options.echoWarnings ?? true;
  const logger = createLogger({
    level: "info",
    sink: (record) => {
      const line = JSON.stringify(record);
      if (record.level !== "warn" && record.level !== "error") return;
      warnings.set(record.msg, (warnings.get(record.msg) ?? 0) + 1);
      if (echo) process.stderr.write(`${line}\n`);
    },
  });
  const host = createHost({
    extensions: builtinExtensions(),
    config: {
      server: { host: "127.0.0.1", port: 0 },
      providers: [instantScripted(options.maxConcurrent)],
      ...options.config,
    },
    dataDir,
    logger,
  });
  try {
    await host.start();
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const address = host.get(httpServerRef).address();
  if (!address) {
    await host.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error("the HTTP server did not start");
  }
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      try {
        await host.stop();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    })();
    return stopping;
  };
  // An interrupted drill still stops the server and removes its data dir.
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`drill interrupted by ${signal}; cleaning up\n`);
    void stop().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return {
    host,
    orchestrator: host.get(orchestratorRef),
    url: `http://127.0.0.1:${address.port}`,
    dataDir,
    extensionIds: host.order,
    warnings,
    stop,
  };
}

/** Creates a conversation in the `default` workspace over HTTP; returns its id. */
export async function createConversation(url: string, title: string): Promise<string> {
  const res = await fetch(`${url}/workspaces/default/conversations`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ title }),
  });
  if (res.status !== 201) throw new Error(`creating a conversation: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { id: string };
  return body.id;
}
