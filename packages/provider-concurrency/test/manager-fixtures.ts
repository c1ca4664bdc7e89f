import { createMemoryLogger, DispatchError } from "@dispatch/kernel";
import { createConcurrencyManager, type PriorityConcurrencyManager } from "../src/concurrency-manager.ts";
import type { ConcurrencyManagerOptions } from "../src/manager-options.ts";
import type { AcquireRequest, Lease } from "../src/types.ts";
import { FakeClock } from "./fake-clock.ts";

/** The fake clock's start; prompts are stamped relative to it so nothing ages by accident. */
export const T0 = new FakeClock().now();
const managers: PriorityConcurrencyManager[] = [];

/** Disposes every manager `setup` made (call from `afterEach`). */
export function disposeManagers(): void {
  for (const m of managers.splice(0)) m.dispose();
}

/** Keeps a manager made outside `setup` for `disposeManagers`. */
export function track(manager: PriorityConcurrencyManager): PriorityConcurrencyManager {
  managers.push(manager);
  return manager;
}

export function setup(options: ConcurrencyManagerOptions & { limit?: number } = {}) {
  const clock = new FakeClock();
  const { logger, records } = createMemoryLogger();
  const manager = createConcurrencyManager({ clock, logger, ...options });
  managers.push(manager);
  manager.setLimit("p", options.limit ?? 1);
  return { clock, manager, records };
}

export function request(extra: Partial<AcquireRequest> = {}): AcquireRequest {
  return { providerId: "p", workspaceId: "w", promptStartedAt: T0 + 1_000, ...extra };
}

/** A signal that counts the abort listeners currently attached to it. */
export function countedSignal() {
  const controller = new AbortController();
  const signal = controller.signal;
  const attached = new Set<unknown>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((type: string, fn: EventListener, options?: AddEventListenerOptions) => {
    attached.add(fn);
    add(type, fn, options);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, fn: EventListener, options?: EventListenerOptions) => {
    attached.delete(fn);
    remove(type, fn, options);
  }) as typeof signal.removeEventListener;
  return { controller, signal, listeners: () => attached.size };
}

/** Tracks the order in which queued acquires are granted, by turnId. */
export function grants(manager: PriorityConcurrencyManager, requests: AcquireRequest[]) {
  const order: string[] = [];
  const leases: Lease[] = [];
  for (const r of requests) {
    manager.acquire(r).then(
      (lease) => {
        order.push(r.turnId ?? "?");
        leases.push(lease);
      },
      () => order.push(`rejected:${r.turnId ?? "?"}`),
    );
  }
  return { order, leases };
}

export async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return DispatchError.isInstance(error) ? error.code : undefined;
}
