import type { ExtensionBus } from "./event-bus.ts";
import type { Contribution, ExtensionPoint } from "./extension-point.ts";
import type { Logger } from "./logger.ts";
import type { Registry } from "./metrics.ts";
import type { ServiceRef } from "./service-ref.ts";

/** Lifecycle state of one extension. */
export type ExtensionState = "pending" | "active" | "failed" | "skipped" | "disabled" | "stopped";

/** One extension's line in the host status. */
export interface ExtensionStatus {
  id: string;
  version: string;
  state: ExtensionState;
  /** Why it failed or was skipped. */
  reason?: string;
  faults: number;
  /** Whatever the extension reports through `ctx.setHealth`. */
  health?: Record<string, unknown>;
}

/** The host as a whole, as `/health` shows it. */
export interface HostStatus {
  startedAt: string;
  extensions: ExtensionStatus[];
  faults: { total: number; bySource: Record<string, number> };
}

/** What every extension may know about the host it runs in. */
export interface HostInfo {
  readonly dataDir: string;
  readonly version: string;
  readonly startedAt: Date;
  /** Current extension states and fault counts. */
  status(): HostStatus;
}

/** A cancel function for a timer started through the context. */
export type CancelTimer = () => void;

/** Everything the host gives an extension while it activates and runs. */
export interface ExtensionContext<C = unknown> {
  readonly id: string;
  /** A logger whose lines carry `ext: <id>`. */
  readonly logger: Logger;
  /** This extension's config slice, already validated by its schema. */
  readonly config: C;
  readonly bus: ExtensionBus;
  /** The host's Prometheus registry. */
  readonly metrics: Registry;
  /** Fires when this extension starts shutting down. */
  readonly signal: AbortSignal;
  readonly host: HostInfo;
  /** This extension's own directory, `<dataDir>/extensions/<id>`; created when first read. */
  readonly dataDir: string;
  /** Makes `impl` available to dependents; `ref` must be listed in the definition's `provides`. */
  provide<T>(ref: ServiceRef<T>, impl: T): void;
  /** A service of an extension listed in `dependsOn`; throws `undeclared_dependency` otherwise. */
  use<T>(ref: ServiceRef<T>): T;
  /** A service of an extension listed in `optionalDependsOn`, or undefined when it is absent or not active. */
  useOptional<T>(ref: ServiceRef<T>): T | undefined;
  /** Runs at shutdown, last registered first, before `deactivate`. */
  onDispose(dispose: () => void | Promise<void>): void;
  /** Runs once every extension has activated (for example: start listening). */
  onReady(ready: () => void | Promise<void>): void;
  /** A repeating timer whose errors are caught and attributed to this extension; cleared at shutdown. */
  setInterval(fn: () => void | Promise<void>, ms: number): CancelTimer;
  /** A one-shot timer with the same guarantees as `setInterval`. */
  setTimeout(fn: () => void | Promise<void>, ms: number): CancelTimer;
  /** Records an error this extension caught but could not handle (counted as a fault). */
  reportFault(kind: string, error: unknown): void;
  /**
   * The contributions to an extension point this extension offers, from extensions that are not
   * disabled, skipped or failed (read it again later to see a contributor that failed since).
   */
  contributions<T>(point: ExtensionPoint<T>): readonly Contribution<T>[];
  /** Adds details to this extension's entry in `/health`. */
  setHealth(report: () => Record<string, unknown>): void;
}
