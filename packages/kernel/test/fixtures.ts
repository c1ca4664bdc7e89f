import type { AnyExtension, ExtensionContext, ServiceRef } from "../src/index.ts";
import { createHost, createMemoryLogger, defineExtension, type Host } from "../src/index.ts";

/** Options for a throwaway test extension. */
export interface FakeOptions {
  dependsOn?: string[];
  optionalDependsOn?: string[];
  critical?: boolean;
  provides?: ServiceRef<unknown>[];
  activate?: (ctx: ExtensionContext<unknown>) => void | Promise<void>;
  deactivate?: () => void | Promise<void>;
}

/** A minimal extension whose activate/deactivate are appended to `journal`, so tests can check order. */
export function fake(id: string, journal: string[], options: FakeOptions = {}): AnyExtension {
  return defineExtension({
    manifest: {
      id,
      version: "1.0.0",
      dependsOn: options.dependsOn ?? [],
      optionalDependsOn: options.optionalDependsOn ?? [],
      critical: options.critical ?? false,
    },
    provides: options.provides ?? [],
    async activate(ctx) {
      journal.push(`activate:${id}`);
      await options.activate?.(ctx);
    },
    async deactivate() {
      journal.push(`deactivate:${id}`);
      await options.deactivate?.();
    },
  });
}

/** A host over `extensions` with an in-memory logger and a dummy data dir (nothing here writes to it). */
export function hostOf(
  extensions: readonly AnyExtension[],
  options: { disabled?: string[]; shutdownTimeoutMs?: number; config?: Record<string, unknown> } = {},
): { host: Host; records: ReturnType<typeof createMemoryLogger>["records"] } {
  const { logger, records } = createMemoryLogger();
  const host = createHost({ extensions, dataDir: "/nonexistent-test-data-dir", logger, ...options });
  return { host, records };
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject, but it resolved");
}

/** The error a function throws; fails the test if it returns. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected the function to throw, but it returned");
}
