import { validateExtensionConfigs } from "./config.ts";
import type { ExtensionStatus, HostInfo, HostStatus } from "./context.ts";
import { KernelError, messageOf, StartupError, type StartupProblem } from "./errors.ts";
import { EventBus } from "./event-bus.ts";
import { ExtensionRuntime } from "./extension-runtime.ts";
import { FaultCounter } from "./faults.ts";
import { resolveGraph } from "./graph.ts";
import { createLogger, type Logger } from "./logger.ts";
import { type AnyExtension, type ExtensionManifest, manifestSchema } from "./manifest.ts";
import { Registry } from "./metrics.ts";
import { registerProcessMetrics } from "./process-metrics.ts";
import type { ServiceRef } from "./service-ref.ts";

/** The start-up problem for a critical extension that failed to activate or to get ready. */
function activationProblem(runtime: ExtensionRuntime, error: unknown): StartupProblem {
  return {
    extensionId: runtime.id,
    code: "activation_failed",
    message: `activation failed: ${runtime.reason}`,
    cause: error,
  };
}

/** Options for `createHost`. */
export interface HostOptions {
  extensions: readonly AnyExtension[];
  /** The whole config object; each extension gets the slice under its `config.key`. */
  config?: Record<string, unknown>;
  dataDir: string;
  version?: string;
  logger?: Logger;
  /** Extension ids to install but not activate; their hard dependents are skipped. */
  disabled?: readonly string[];
  /** Time each extension gets to shut down (disposers plus `deactivate`). Default 5 s. */
  shutdownTimeoutMs?: number;
}

/** What `stop()` reports: the order extensions stopped in and every error collected on the way. */
export interface ShutdownReport {
  stopped: string[];
  errors: Array<{ extensionId: string; message: string }>;
  timedOut: string[];
}

/** The extension host: checks the graph, activates in order, and shuts down in reverse. */
export class Host {
  readonly logger: Logger;
  readonly metrics = new Registry();
  readonly faults: FaultCounter;
  readonly bus: EventBus;
  readonly info: HostInfo;
  readonly #options: HostOptions;
  readonly #runtimes = new Map<string, ExtensionRuntime>();
  #providerOf = new Map<string, string>();
  #order: string[] = [];
  #activated: string[] = [];
  #stopping: Promise<ShutdownReport> | undefined;

  constructor(options: HostOptions) {
    this.#options = options;
    this.logger = options.logger ?? createLogger();
    registerProcessMetrics(this.metrics);
    this.faults = new FaultCounter(this.metrics, this.logger);
    this.bus = new EventBus((id, event, error) => this.faults.record(id, `bus:${event}`, error));
    const startedAt = new Date();
    this.info = {
      dataDir: options.dataDir,
      version: options.version ?? "0.0.0",
      startedAt,
      status: () => this.status(),
    };
  }

  /** Activation order (valid after `check()` or `start()`). */
  get order(): readonly string[] {
    return this.#order;
  }

  /** Validates manifests and config and checks the graph, without running any extension code. */
  check(): void {
    const problems: StartupProblem[] = [];
    const manifests: ExtensionManifest[] = [];
    for (const [index, ext] of this.#options.extensions.entries()) {
      const parsed = manifestSchema.safeParse(ext.manifest);
      const label = typeof ext.manifest?.id === "string" ? ext.manifest.id : `#${index}`;
      if (!parsed.success) {
        const detail = parsed.error.issues
          .map((i) => `${i.path.join(".") || "(manifest)"}: ${i.message}`)
          .join("; ");
        problems.push({
          extensionId: label,
          code: "invalid_manifest",
          message: `invalid manifest: ${detail}`,
        });
      } else manifests.push(parsed.data);
    }
    if (problems.length > 0) throw new StartupError(problems);

    const graph = resolveGraph(
      manifests.map((manifest, i) => ({
        manifest,
        provides: (this.#options.extensions[i]?.provides ?? []).map((r) => r.id),
      })),
    );
    if (!graph.ok) throw new StartupError(graph.problems);

    const configs = validateExtensionConfigs(this.#options.extensions, this.#options.config ?? {});
    if (!configs.ok) {
      throw new StartupError(
        configs.issues.map((i) => ({
          extensionId: "config",
          code: "invalid_config",
          message: `${i.path}: ${i.message}`,
        })),
      );
    }
    this.#order = graph.order;
    this.#providerOf = graph.providerOf;
    this.#runtimes.clear();
    const directory = {
      providerOf: (serviceId: string) => this.#providerOf.get(serviceId),
      runtime: (id: string) => this.#runtimes.get(id),
    };
    for (const [i, manifest] of manifests.entries()) {
      const definition = this.#options.extensions[i] as AnyExtension;
      const runtime = new ExtensionRuntime(definition, manifest, {
        bus: this.bus,
        metrics: this.metrics,
        faults: this.faults,
        logger: this.logger,
        host: this.info,
        directory,
      });
      this.#runtimes.set(manifest.id, runtime);
    }
    this.#slices = configs.slices;
  }

  #slices = new Map<string, unknown>();

  /** Activates every extension in order; throws one aggregated StartupError if a critical one fails. */
  async start(): Promise<void> {
    this.check();
    const critical = this.#criticalSet();
    const disabled = new Set(this.#options.disabled ?? []);
    for (const id of this.#order) {
      const runtime = this.#runtimes.get(id) as ExtensionRuntime;
      if (disabled.has(id)) {
        runtime.state = "disabled";
        runtime.reason = "disabled in config";
        continue;
      }
      const blocked = runtime.manifest.dependsOn.find((dep) => this.#runtimes.get(dep)?.state !== "active");
      if (blocked !== undefined) {
        const dep = this.#runtimes.get(blocked);
        runtime.state = "skipped";
        runtime.reason = `dependency "${blocked}" is ${dep?.state ?? "missing"}`;
        this.logger.warn("extension skipped", { ext: id, reason: runtime.reason });
        if (critical.has(id))
          await this.#abortStartup([{ extensionId: id, code: "skipped", message: runtime.reason }]);
        continue;
      }
      try {
        await runtime.definition.activate(runtime.createContext(this.#slices.get(id)));
        const missing = (runtime.definition.provides ?? []).filter((ref) => !runtime.services.has(ref.id));
        if (missing.length > 0) {
          throw new KernelError(
            "service_not_provided",
            `declared service(s) ${missing.map((r) => `"${r.id}"`).join(", ")} but did not provide them during activate`,
          );
        }
        runtime.state = "active";
        this.#activated.push(id);
        this.logger.debug("extension active", { ext: id });
      } catch (error) {
        await this.#fail(runtime, error, critical.has(id));
      }
    }
    for (const id of [...this.#activated]) {
      const runtime = this.#runtimes.get(id) as ExtensionRuntime;
      if (runtime.state !== "active") continue;
      try {
        for (const ready of runtime.readyHooks) await ready();
      } catch (error) {
        await this.#failWhenReady(runtime, error, critical.has(id));
      }
    }
  }

  /**
   * An `onReady` failure is an activation failure, but the extension and its dependents are already
   * active: a critical one rolls everything back in reverse order; a non-critical one is stopped
   * together with its active hard dependents (last activated first), which become `skipped`.
   */
  async #failWhenReady(runtime: ExtensionRuntime, error: unknown, critical: boolean): Promise<void> {
    runtime.state = "failed";
    runtime.reason = messageOf(error);
    this.logger.error("extension failed to start", { ext: runtime.id, err: error, critical, phase: "ready" });
    if (critical) await this.#abortStartup([activationProblem(runtime, error)]);
    const casualties = new Set([runtime.id]);
    for (const id of this.#activated) {
      const deps = this.#runtimes.get(id)?.manifest.dependsOn ?? [];
      if (deps.some((dep) => casualties.has(dep))) casualties.add(id);
    }
    for (const id of [...this.#activated].reverse()) {
      if (!casualties.has(id)) continue;
      const victim = this.#runtimes.get(id) as ExtensionRuntime;
      this.#activated.splice(this.#activated.indexOf(id), 1);
      const outcome = await this.#disposeWithTimeout(victim);
      for (const e of outcome.errors) this.logger.error("cleanup after failed start", { ext: id, err: e });
      if (victim !== runtime) {
        const blocked = victim.manifest.dependsOn.find((dep) => casualties.has(dep)) as string;
        victim.state = "skipped";
        victim.reason = `dependency "${blocked}" is ${this.#runtimes.get(blocked)?.state}`;
        this.logger.warn("extension skipped", { ext: id, reason: victim.reason });
      }
    }
  }

  /** Disposes one extension under the shutdown timeout; a late disposal keeps running but is not awaited. */
  async #disposeWithTimeout(
    runtime: ExtensionRuntime,
    callDeactivate = true,
  ): Promise<{ errors: unknown[]; timedOut: boolean }> {
    const timeoutMs = this.#options.shutdownTimeoutMs ?? 5000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const outcome = await Promise.race([runtime.dispose(callDeactivate), timeout]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      return { errors: [new Error(`did not stop within ${timeoutMs} ms`)], timedOut: true };
    }
    return { errors: outcome, timedOut: false };
  }

  /** An `activate` failure: what the extension registered is disposed (without `deactivate`, it never finished). */
  async #fail(runtime: ExtensionRuntime, error: unknown, critical: boolean): Promise<void> {
    runtime.state = "failed";
    runtime.reason = messageOf(error);
    this.logger.error("extension failed to start", { ext: runtime.id, err: error, critical });
    const cleanup = await this.#disposeWithTimeout(runtime, false);
    for (const e of cleanup.errors)
      this.logger.error("cleanup after failed start", { ext: runtime.id, err: e });
    if (critical) await this.#abortStartup([activationProblem(runtime, error)]);
  }

  async #abortStartup(problems: StartupProblem[]): Promise<never> {
    const report = await this.stop();
    for (const e of report.errors) {
      problems.push({
        extensionId: e.extensionId,
        code: "rollback_failed",
        message: `while rolling back: ${e.message}`,
      });
    }
    throw new StartupError(problems);
  }

  /** Extensions that must start: critical ones and everything they need, transitively. */
  #criticalSet(): Set<string> {
    const set = new Set<string>();
    const visit = (id: string) => {
      if (set.has(id)) return;
      set.add(id);
      for (const dep of this.#runtimes.get(id)?.manifest.dependsOn ?? []) visit(dep);
    };
    for (const runtime of this.#runtimes.values()) if (runtime.manifest.critical) visit(runtime.id);
    return set;
  }

  /** A service for code outside any extension (the binary, tests); throws when it is not available. */
  get<T>(ref: ServiceRef<T>): T {
    const service = this.tryGet(ref);
    if (service === undefined) {
      throw new KernelError("service_unavailable", `service "${ref.id}" is not available`);
    }
    return service;
  }

  /** Like `get`, but undefined when the service is not available. */
  tryGet<T>(ref: ServiceRef<T>): T | undefined {
    const providerId = this.#providerOf.get(ref.id);
    const runtime = providerId === undefined ? undefined : this.#runtimes.get(providerId);
    return runtime?.state === "active" ? (runtime.services.get(ref.id) as T | undefined) : undefined;
  }

  /** Extension states, health details and fault counts. */
  status(): HostStatus {
    const extensions: ExtensionStatus[] = this.#order.map((id) => {
      const r = this.#runtimes.get(id) as ExtensionRuntime;
      const health = r.state === "active" ? r.health() : undefined;
      return {
        id,
        version: r.manifest.version,
        state: r.state,
        ...(r.reason === undefined ? {} : { reason: r.reason }),
        faults: this.faults.count(id),
        ...(health === undefined ? {} : { health }),
      };
    });
    return {
      startedAt: this.info.startedAt.toISOString(),
      extensions,
      faults: { total: this.faults.total(), bySource: this.faults.bySource() },
    };
  }

  /** Stops active extensions in exact reverse activation order, each under its own timeout. Never throws. */
  stop(): Promise<ShutdownReport> {
    this.#stopping ??= this.#stopAll();
    return this.#stopping;
  }

  async #stopAll(): Promise<ShutdownReport> {
    const report: ShutdownReport = { stopped: [], errors: [], timedOut: [] };
    for (const id of [...this.#activated].reverse()) {
      const runtime = this.#runtimes.get(id) as ExtensionRuntime;
      const outcome = await this.#disposeWithTimeout(runtime);
      // a critical extension whose onReady failed is rolled back here but keeps its `failed` state
      if (runtime.state === "active") runtime.state = "stopped";
      report.stopped.push(id);
      if (outcome.timedOut) report.timedOut.push(id);
      for (const error of outcome.errors) report.errors.push({ extensionId: id, message: messageOf(error) });
    }
    this.#activated = [];
    for (const e of report.errors)
      this.logger.error("shutdown error", { ext: e.extensionId, message: e.message });
    return report;
  }
}

/** Creates a host; call `start()` to activate its extensions. */
export function createHost(options: HostOptions): Host {
  return new Host(options);
}
