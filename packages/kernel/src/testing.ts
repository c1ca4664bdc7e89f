import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHost, type Host, type ShutdownReport } from "./host.ts";
import { createMemoryLogger, type Logger, type LogRecord } from "./logger.ts";
import type { AnyExtension } from "./manifest.ts";
import type { ServiceRef } from "./service-ref.ts";

/** A started host in a temp data dir, for testing extensions. */
export interface TestHost {
  readonly host: Host;
  readonly dataDir: string;
  /** Every log line the host and its extensions wrote. */
  readonly logs: LogRecord[];
  get<T>(ref: ServiceRef<T>): T;
  /** Stops the host and removes its data dir (unless `keepDataDir`). */
  stop(): Promise<ShutdownReport>;
}

/** Options for `createTestHost`. */
export interface TestHostOptions {
  extensions: readonly AnyExtension[];
  config?: Record<string, unknown>;
  /** Reuse a data dir (for restart tests); it is then not removed at stop. */
  dataDir?: string;
  keepDataDir?: boolean;
  shutdownTimeoutMs?: number;
  /** Replaces the in-memory logger (then `logs` stays empty), for example in benchmarks. */
  logger?: Logger;
}

/**
 * Starts the given extensions in a fresh temp data dir with an in-memory logger. Include the real
 * extensions yours depends on (for example the conversation store), not mocks.
 */
export async function createTestHost(options: TestHostOptions): Promise<TestHost> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "dispatch-test-"));
  const keep = options.keepDataDir ?? options.dataDir !== undefined;
  const memory = createMemoryLogger();
  const logger = options.logger ?? memory.logger;
  const records = memory.records;
  const host = createHost({
    extensions: options.extensions,
    config: options.config ?? {},
    dataDir,
    logger,
    shutdownTimeoutMs: options.shutdownTimeoutMs,
  });
  try {
    await host.start();
  } catch (error) {
    if (!keep) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    host,
    dataDir,
    logs: records,
    get: (ref) => host.get(ref),
    stop: async () => {
      const report = await host.stop();
      if (!keep) rmSync(dataDir, { recursive: true, force: true });
      return report;
    },
  };
}
