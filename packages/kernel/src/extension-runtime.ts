import type { CancelTimer, ExtensionContext, ExtensionState, HostInfo } from "./context.ts";
import { KernelError } from "./errors.ts";
import type { EventBus, ExtensionBus } from "./event-bus.ts";
import type { FaultCounter } from "./faults.ts";
import type { Logger } from "./logger.ts";
import type { AnyExtension, ExtensionManifest } from "./manifest.ts";
import type { Registry } from "./metrics.ts";
import type { ServiceRef } from "./service-ref.ts";
import { maxTimerDelayMs, setLongTimeout } from "./timer-delay.ts";

/** What a runtime needs from its host to resolve services. */
export interface ServiceDirectory {
  providerOf(serviceId: string): string | undefined;
  runtime(extensionId: string): ExtensionRuntime | undefined;
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

/** The host's record of one extension: its state, services, disposers and context. */
export class ExtensionRuntime {
  readonly definition: AnyExtension;
  readonly manifest: ExtensionManifest;
  state: ExtensionState = "pending";
  reason: string | undefined;
  readonly services = new Map<string, unknown>();
  readonly #disposers: Array<() => void | Promise<void>> = [];
  /** Cancel functions of live timers; all are cleared first at shutdown. */
  readonly #timers = new Set<() => void>();
  readonly readyHooks: Array<() => void | Promise<void>> = [];
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
      provide: (ref, impl) => this.#provide(ref, impl),
      use: (ref) => this.#use(ref, false) as never,
      useOptional: (ref) => this.#use(ref, true) as never,
      onDispose: (dispose) => {
        this.#disposers.push(dispose);
      },
      onReady: (ready) => {
        this.readyHooks.push(ready);
      },
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

  #use<T>(ref: ServiceRef<T>, optional: boolean): T | undefined {
    const { directory } = this.#deps;
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
  async dispose(callDeactivate = true): Promise<unknown[]> {
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
