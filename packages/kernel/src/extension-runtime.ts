import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { CancelTimer, ExtensionContext, ExtensionState, HostInfo } from "./context.ts";
import { KernelError, messageOf } from "./errors.ts";
import type { EventBus, ExtensionBus } from "./event-bus.ts";
import type { Contribution, ExtensionPoint } from "./extension-point.ts";
import type { FaultCounter } from "./faults.ts";
import type { Logger } from "./logger.ts";
import type { AnyExtension, ExtensionManifest } from "./manifest.ts";
import type { Registry } from "./metrics.ts";
import type { ServiceRef } from "./service-ref.ts";
import { maxTimerDelayMs, setLongTimeout } from "./timer-delay.ts";

/** What a runtime needs from its host to resolve services and contributions. */
export interface ServiceDirectory {
  providerOf(serviceId: string): string | undefined;
  ownerOf(pointId: string): string | undefined;
  runtime(extensionId: string): ExtensionRuntime | undefined;
  contributionsTo(pointId: string): readonly Contribution<unknown>[];
}

/** States in which an extension's contributions no longer count. */
const outOfService: ReadonlySet<ExtensionState> = new Set(["failed", "skipped", "disabled"]);

/** How one extension's shutdown went. */
export interface StopOutcome {
  errors: unknown[];
  timedOut: boolean;
}

/** Shared pieces every runtime gets from the host. */
export interface RuntimeDeps {
  bus: EventBus;
  metrics: Registry;
  faults: FaultCounter;
  logger: Logger;
  host: HostInfo;
  directory: ServiceDirectory;
}

/**
 * The host's record of one extension: its services, disposers and context, and the only writer of
 * its lifecycle state (pending → active → stopped, or disabled, skipped, failed). The host decides
 * the order; the runtime makes each transition.
 */
export class ExtensionRuntime {
  readonly definition: AnyExtension;
  readonly manifest: ExtensionManifest;
  #state: ExtensionState = "pending";
  #reason: string | undefined;
  /** True once `activate` was called, so `deactivate` is owed at stop. */
  #activated = false;
  readonly services = new Map<string, unknown>();
  readonly #disposers: Array<() => void | Promise<void>> = [];
  /** Cancel functions of live timers; all are cleared first at shutdown. */
  readonly #timers = new Set<() => void>();
  readonly #readyHooks: Array<() => void | Promise<void>> = [];
  readonly #abort = new AbortController();
  #health: (() => Record<string, unknown>) | undefined;
  readonly #deps: RuntimeDeps;

  constructor(definition: AnyExtension, manifest: ExtensionManifest, deps: RuntimeDeps) {
    this.definition = definition;
    this.manifest = manifest;
    this.#deps = deps;
  }

  get id(): string {
    return this.manifest.id;
  }

  get state(): ExtensionState {
    return this.#state;
  }

  /** Why it is disabled, skipped or failed. */
  get reason(): string | undefined {
    return this.#reason;
  }

  /** Whether its contributions still count: not disabled, skipped or failed. */
  get inService(): boolean {
    return !outOfService.has(this.#state);
  }

  /** Pending → disabled (config says so) or skipped (a dependency is not active, the host stopped). */
  notStarted(state: "disabled" | "skipped", reason: string): void {
    this.#expect("pending", state);
    this.#state = state;
    this.#reason = reason;
  }

  /**
   * Pending → active. A throw, or a declared service left unprovided, makes it `failed`; what it had
   * registered is disposed (without `deactivate`: it never finished) and the error is returned.
   */
  async activate(
    config: unknown,
    timeoutMs: number,
  ): Promise<{ error: unknown; cleanup: unknown[] } | undefined> {
    this.#expect("pending", "active");
    try {
      await this.definition.activate(this.createContext(config));
      const missing = (this.definition.provides ?? []).filter((ref) => !this.services.has(ref.id));
      if (missing.length > 0) {
        throw new KernelError(
          "service_not_provided",
          `declared service(s) ${missing.map((r) => `"${r.id}"`).join(", ")} but did not provide them during activate`,
        );
      }
      this.#activated = true;
      this.#state = "active";
      return undefined;
    } catch (error) {
      this.#state = "failed";
      this.#reason = messageOf(error);
      const { errors } = await this.#disposeWithin(timeoutMs, false);
      return { error, cleanup: errors };
    }
  }

  /** Runs the `onReady` hooks; a throw makes it `failed` (still to be stopped) and is returned. */
  async ready(): Promise<unknown> {
    if (this.#state !== "active") return undefined;
    try {
      for (const hook of this.#readyHooks) await hook();
      return undefined;
    } catch (error) {
      this.#state = "failed";
      this.#reason = messageOf(error);
      return error;
    }
  }

  /**
   * Disposes an activated extension within `timeoutMs` and sets its final state: `stopped`, or
   * `skipped` with a reason when it is stopped because a dependency failed; a failed one stays failed.
   */
  async stop(timeoutMs: number, skippedBecause?: string): Promise<StopOutcome> {
    const outcome = await this.#disposeWithin(timeoutMs, this.#activated);
    this.#activated = false;
    if (skippedBecause !== undefined && this.#state === "active") {
      this.#state = "skipped";
      this.#reason = skippedBecause;
    } else if (this.#state === "active") this.#state = "stopped";
    return outcome;
  }

  #expect(from: ExtensionState, to: ExtensionState): void {
    if (this.#state !== from) {
      throw new KernelError(
        "invalid_transition",
        `extension "${this.id}" cannot go from ${this.#state} to ${to}`,
      );
    }
  }

  /** Disposal under a timeout; a late disposal keeps running but is not awaited. */
  async #disposeWithin(timeoutMs: number, callDeactivate: boolean): Promise<StopOutcome> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const outcome = await Promise.race([this.#dispose(callDeactivate), timeout]);
    clearTimeout(timer);
    if (outcome === "timeout")
      return { errors: [new Error(`did not stop within ${timeoutMs} ms`)], timedOut: true };
    return { errors: outcome, timedOut: false };
  }

  /** Timers started through the context that have not fired (one-shot) or been cancelled yet. */
  get liveTimers(): number {
    return this.#timers.size;
  }

  /** The health details this extension reports; a throwing reporter is a fault, not a crash. */
  health(): Record<string, unknown> | undefined {
    if (!this.#health) return undefined;
    try {
      return this.#health();
    } catch (error) {
      this.#deps.faults.record(this.id, "health", error);
      return { error: "health reporter failed" };
    }
  }

  /** Builds the context handed to `activate`. */
  createContext(config: unknown): ExtensionContext<unknown> {
    const { bus, metrics, faults, host } = this.#deps;
    const id = this.id;
    const logger = this.#deps.logger.child({ ext: id });
    const guard = (kind: string, fn: () => void | Promise<void>) => () => {
      try {
        const result = fn();
        if (result instanceof Promise) result.catch((error) => faults.record(id, kind, error));
      } catch (error) {
        faults.record(id, kind, error);
      }
    };
    const extensionBus: ExtensionBus = {
      publish: (event, payload) => bus.publish(event, payload),
      subscribe: (event, handler) => {
        const off = bus.subscribe(id, event, handler);
        this.#disposers.push(off);
        return off;
      },
    };
    const timer = (repeat: boolean, fn: () => void | Promise<void>, ms: number): CancelTimer => {
      const guarded = guard("timer", fn);
      // a one-shot timer forgets itself when it fires, so per-request timeouts do not pile up
      const wrapped = repeat
        ? guarded
        : () => {
            this.#timers.delete(cancel);
            guarded();
          };
      let clear: CancelTimer;
      if (repeat) {
        // A period past the timer limit would become 1 ms: refuse it rather than spin.
        if (!(ms >= 1 && ms <= maxTimerDelayMs)) {
          throw new KernelError(
            "invalid_request",
            `Expected the interval of extension "${id}" to be 1..${maxTimerDelayMs} ms, got \`${ms}\``,
          );
        }
        const handle = setInterval(wrapped, ms);
        handle.unref?.();
        clear = () => clearInterval(handle);
      } else clear = setLongTimeout(wrapped, ms);
      const cancel = () => {
        this.#timers.delete(cancel);
        clear();
      };
      this.#timers.add(cancel);
      return cancel;
    };
    return {
      id,
      logger,
      config,
      bus: extensionBus,
      metrics,
      signal: this.#abort.signal,
      host,
      // made on first read, so extensions that never write leave nothing behind; ids are slugs, so
      // the path stays inside extensions/
      get dataDir() {
        const dir = join(host.dataDir, "extensions", id);
        mkdirSync(dir, { recursive: true });
        return dir;
      },
      provide: (ref, impl) => this.#provide(ref, impl),
      use: (ref) => this.#use(ref, false) as never,
      useOptional: (ref) => this.#use(ref, true) as never,
      onDispose: (dispose) => {
        this.#disposers.push(dispose);
      },
      onReady: (ready) => {
        this.#readyHooks.push(ready);
      },
      contributions: (point) => this.contributions(point),
      setInterval: (fn, ms) => timer(true, fn, ms),
      setTimeout: (fn, ms) => timer(false, fn, ms),
      reportFault: (kind, error) => faults.record(id, kind, error),
      setHealth: (report) => {
        this.#health = report;
      },
    };
  }

  #provide<T>(ref: ServiceRef<T>, impl: T): void {
    const declared = (this.definition.provides ?? []).some((r) => r.id === ref.id);
    if (!declared) {
      throw new KernelError(
        "undeclared_service",
        `extension "${this.id}" provided service "${ref.id}" without listing it in its definition's \`provides\``,
      );
    }
    this.services.set(ref.id, impl);
  }

  /** The live contributions to a point this extension owns (see `ContributionReader`). */
  contributions<T>(point: ExtensionPoint<T>): readonly Contribution<T>[] {
    const { directory } = this.#deps;
    const owner = directory.ownerOf(point.id);
    if (owner !== this.id) {
      throw new KernelError(
        "not_point_owner",
        `extension "${this.id}" read contributions of extension point "${point.id}", which ${owner === undefined ? "no installed extension offers" : `belongs to "${owner}"`}`,
      );
    }
    return directory
      .contributionsTo(point.id)
      .filter((c) => directory.runtime(c.extensionId)?.inService !== false) as readonly Contribution<T>[];
  }

  #use<T>(ref: ServiceRef<T>, optional: boolean): T | undefined {
    const { directory } = this.#deps;
    const consumes = this.definition.consumes;
    if (consumes !== undefined && !consumes.some((r) => r.id === ref.id)) {
      throw new KernelError(
        "undeclared_service_use",
        `extension "${this.id}" used service "${ref.id}" without listing it in its definition's \`consumes\``,
      );
    }
    const providerId = directory.providerOf(ref.id);
    const listHard = this.manifest.dependsOn.includes(providerId ?? "");
    const listOptional = this.manifest.optionalDependsOn.includes(providerId ?? "");
    if (providerId === undefined) {
      if (optional) return undefined;
      throw new KernelError(
        "unknown_service",
        `extension "${this.id}" asked for service "${ref.id}", which no installed extension provides`,
      );
    }
    if (optional ? !listOptional && !listHard : !listHard) {
      const list = optional ? "optionalDependsOn" : "dependsOn";
      throw new KernelError(
        "undeclared_dependency",
        `extension "${this.id}" used service "${ref.id}" of extension "${providerId}" without listing "${providerId}" in ${list}`,
      );
    }
    const provider = directory.runtime(providerId);
    if (provider?.state !== "active" || !provider.services.has(ref.id)) {
      if (optional) return undefined;
      throw new KernelError(
        "service_unavailable",
        `service "${ref.id}" of extension "${providerId}" is not available (state: ${provider?.state ?? "missing"})`,
      );
    }
    return provider.services.get(ref.id) as T;
  }

  /**
   * Fires the shutdown signal, clears the extension's timers (so none fires mid-shutdown), runs its
   * disposers last-in-first-out, then `deactivate`; returns every error.
   */
  async #dispose(callDeactivate: boolean): Promise<unknown[]> {
    this.#abort.abort(new KernelError("shutdown", `extension "${this.id}" is shutting down`));
    for (const cancel of [...this.#timers]) cancel();
    const errors: unknown[] = [];
    while (this.#disposers.length > 0) {
      const dispose = this.#disposers.pop();
      try {
        await dispose?.();
      } catch (error) {
        errors.push(error);
      }
    }
    if (callDeactivate) {
      try {
        await this.definition.deactivate?.();
      } catch (error) {
        errors.push(error);
      }
    }
    this.services.clear();
    return errors;
  }
}
