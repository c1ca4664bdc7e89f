import { hasBuiltSchema, validateExtensionConfigs } from "./config.ts";
import type { ExtensionStatus, HostInfo, HostStatus } from "./context.ts";
import { KernelError, messageOf, StartupError, type StartupProblem } from "./errors.ts";
import { EventBus } from "./event-bus.ts";
import type { ContributionReader } from "./extension-point.ts";
import { ExtensionRuntime, type StopOutcome } from "./extension-runtime.ts";
import { FaultCounter } from "./faults.ts";
import { resolveGraph } from "./graph.ts";
import { createLogger, type Logger } from "./logger.ts";
import { type AnyExtension, type ExtensionManifest, manifestSchema } from "./manifest.ts";
import { Registry } from "./metrics.ts";
import { registerProcessMetrics } from "./process-metrics.ts";
import { ContributionLedger, type RegisterContext } from "./registration.ts";
import type { ServiceRef } from "./service-ref.ts";

/** The start-up problem for a critical extension that failed to activate or to get ready. */
function activationProblem(runtime: ExtensionRuntime, error: unknown): StartupProblem {
  return {
    extensionId: runtime.id,
    code: "activation_failed",
    message: `activation failed: ${runtime.reason ?? messageOf(error)}`,
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

/** What `check()` found: the order and everything start-up needs, computed once. */
interface Checked {
  order: string[];
  providerOf: Map<string, string>;
  ownerOf: Map<string, string>;
  ledger: ContributionLedger;
  slices: Map<string, unknown>;
}

/**
 * The extension host: checks the graph, runs the register phase, activates in order, and shuts down
 * in reverse. It owns the host's lifecycle (start, stop, stop while starting); each extension's own
 * state is owned by its ExtensionRuntime.
 */
export class Host {
  readonly logger: Logger;
  readonly metrics = new Registry();
  readonly faults: FaultCounter;
  readonly bus: EventBus;
  readonly info: HostInfo;
  readonly #options: HostOptions;
  readonly #runtimes = new Map<string, ExtensionRuntime>();
  #checked: Checked | undefined;
  /** Activated extensions still to be stopped, in activation order. */
  #activated: string[] = [];
  #starting: Promise<void> | undefined;
  #stopRequested = false;
  #stopping: Promise<ShutdownReport> | undefined;
  #stoppedAll: Promise<ShutdownReport> | undefined;

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
    return this.#checked?.order ?? [];
  }

  get #timeoutMs(): number {
    return this.#options.shutdownTimeoutMs ?? 5000;
  }

  /**
   * Validates manifests, the graph and config, and runs every extension's `register` phase (pure by
   * contract), so that a contribution problem or a bad option of a contributed kind is found before
   * any extension activates. Throws one StartupError naming every problem. Runs once.
   */
  check(): void {
    if (this.#checked) return;
    const extensions = this.#options.extensions;
    const disabled = new Set(this.#options.disabled ?? []);
    const problems: StartupProblem[] = [];
    const manifests: ExtensionManifest[] = [];
    for (const [index, ext] of extensions.entries()) {
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
      manifests.map((manifest, i) => {
        const ext = extensions[i] as AnyExtension;
        return {
          manifest,
          provides: (ext.provides ?? []).map((r) => r.id),
          points: (ext.extensionPoints ?? []).map((p) => p.id),
          consumes: (ext.consumes ?? []).map((r) => r.id),
        };
      }),
      disabled,
    );
    if (!graph.ok) throw new StartupError(graph.problems);

    const raw = this.#options.config ?? {};
    const fixed = validateExtensionConfigs(extensions, raw);
    if (!fixed.ok) throw configError(fixed.issues);

    const ledger = new ContributionLedger({
      ownerOf: (pointId) => graph.ownerOf.get(pointId),
      extendsOf: (id) => manifests.find((m) => m.id === id)?.extends ?? [],
    });
    const directory = {
      providerOf: (serviceId: string) => graph.providerOf.get(serviceId),
      ownerOf: (pointId: string) => graph.ownerOf.get(pointId),
      runtime: (id: string) => this.#runtimes.get(id),
      contributionsTo: (pointId: string) => ledger.of(pointId),
    };
    this.#runtimes.clear();
    for (const [i, manifest] of manifests.entries()) {
      const runtime = new ExtensionRuntime(extensions[i] as AnyExtension, manifest, {
        bus: this.bus,
        metrics: this.metrics,
        faults: this.faults,
        logger: this.logger,
        host: this.info,
        directory,
      });
      this.#runtimes.set(manifest.id, runtime);
    }

    for (const id of graph.order) {
      const runtime = this.#runtimes.get(id) as ExtensionRuntime;
      if (disabled.has(id) || !runtime.definition.register) continue;
      try {
        runtime.definition.register(registerContext(runtime, this.info, fixed.slices, ledger));
      } catch (error) {
        ledger.problems.push({
          extensionId: id,
          code: "register_failed",
          message: `register failed: ${messageOf(error)}`,
          cause: error,
        });
      }
    }
    if (ledger.problems.length > 0) throw new StartupError(ledger.problems);

    const readerOf = (id: string): ContributionReader => ({
      contributions: (point) => (this.#runtimes.get(id) as ExtensionRuntime).contributions(point),
    });
    const built = validateExtensionConfigs(extensions, raw, readerOf);
    if (!built.ok) throw configError(built.issues);

    this.#checked = {
      order: graph.order,
      providerOf: graph.providerOf,
      ownerOf: graph.ownerOf,
      ledger,
      slices: new Map([...fixed.slices, ...built.slices]),
    };
  }

  /**
   * Activates every extension in order; throws one aggregated StartupError if a critical one fails.
   * A `stop()` during start-up lets the activation under way finish, activates nothing more, and
   * then stops what did start; `start()` then resolves with the rest `skipped`.
   */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.check();
    const { order, slices } = this.#checked as Checked;
    const critical = this.#criticalSet();
    const disabled = new Set(this.#options.disabled ?? []);
    for (const id of order) {
      const runtime = this.#runtimes.get(id) as ExtensionRuntime;
      if (disabled.has(id)) {
        runtime.notStarted("disabled", "disabled in config");
        continue;
      }
      if (this.#stopRequested) {
        runtime.notStarted("skipped", "the host was stopped during start-up");
        continue;
      }
      const blocked = runtime.manifest.dependsOn.find((dep) => this.#runtimes.get(dep)?.state !== "active");
      if (blocked !== undefined) {
        const reason = `dependency "${blocked}" is ${this.#runtimes.get(blocked)?.state ?? "missing"}`;
        runtime.notStarted("skipped", reason);
        this.logger.warn("extension skipped", { ext: id, reason });
        if (critical.has(id))
          await this.#abortStartup([{ extensionId: id, code: "skipped", message: reason }]);
        continue;
      }
      const failure = await runtime.activate(slices.get(id), this.#timeoutMs);
      if (failure === undefined) {
        this.#activated.push(id);
        this.logger.debug("extension active", { ext: id });
        continue;
      }
      this.logger.error("extension failed to start", {
        ext: id,
        err: failure.error,
        critical: critical.has(id),
      });
      for (const e of failure.cleanup) this.logger.error("cleanup after failed start", { ext: id, err: e });
      if (critical.has(id)) await this.#abortStartup([activationProblem(runtime, failure.error)]);
    }
    if (this.#stopRequested) return;
    for (const id of [...this.#activated]) {
      const runtime = this.#runtimes.get(id) as ExtensionRuntime;
      const error = await runtime.ready();
      if (error !== undefined) await this.#failWhenReady(runtime, error, critical.has(id));
    }
  }

  /**
   * An `onReady` failure is an activation failure, but the extension and its dependents are already
   * active: a critical one rolls everything back in reverse order; a non-critical one is stopped
   * together with its active hard dependents (last activated first), which become `skipped`.
   */
  async #failWhenReady(runtime: ExtensionRuntime, error: unknown, critical: boolean): Promise<void> {
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
      const blocked = victim.manifest.dependsOn.find((dep) => casualties.has(dep));
      const reason =
        victim === runtime || blocked === undefined
          ? undefined
          : `dependency "${blocked}" is ${this.#runtimes.get(blocked)?.state}`;
      const outcome = await victim.stop(this.#timeoutMs, reason);
      for (const e of outcome.errors) this.logger.error("cleanup after failed start", { ext: id, err: e });
      if (reason !== undefined) this.logger.warn("extension skipped", { ext: id, reason });
    }
  }

  async #abortStartup(problems: StartupProblem[]): Promise<never> {
    const report = await this.#stopActivated();
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
    const providerId = this.#checked?.providerOf.get(ref.id);
    const runtime = providerId === undefined ? undefined : this.#runtimes.get(providerId);
    return runtime?.state === "active" ? (runtime.services.get(ref.id) as T | undefined) : undefined;
  }

  /** Extension states, health details and fault counts. */
  status(): HostStatus {
    const extensions: ExtensionStatus[] = this.order.map((id) => {
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

  /**
   * Stops active extensions in exact reverse activation order, each under its own timeout. Called
   * during start-up, it waits for the activation under way, so nothing that starts is left running.
   * Never throws; every call gets the same report.
   */
  stop(): Promise<ShutdownReport> {
    this.#stopRequested = true;
    this.#stopping ??= (async () => {
      await this.#starting?.catch(() => {});
      return this.#stopActivated();
    })();
    return this.#stopping;
  }

  /** Stops everything activated so far, once (a start-up rollback and `stop()` share it). */
  #stopActivated(): Promise<ShutdownReport> {
    this.#stoppedAll ??= this.#stopAll();
    return this.#stoppedAll;
  }

  async #stopAll(): Promise<ShutdownReport> {
    const report: ShutdownReport = { stopped: [], errors: [], timedOut: [] };
    for (const id of [...this.#activated].reverse()) {
      const runtime = this.#runtimes.get(id) as ExtensionRuntime;
      const outcome: StopOutcome = await runtime.stop(this.#timeoutMs);
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

/** Config problems as one StartupError whose problems carry the JSON path. */
function configError(issues: readonly { path: string; message: string }[]): StartupError {
  return new StartupError(
    issues.map((i) => ({
      extensionId: "config",
      code: "invalid_config",
      message: `${i.path}: ${i.message}`,
      path: i.path,
    })),
  );
}

/** The context of one extension's register phase. */
function registerContext(
  runtime: ExtensionRuntime,
  host: HostInfo,
  slices: ReadonlyMap<string, unknown>,
  ledger: ContributionLedger,
): RegisterContext<unknown> {
  const built = hasBuiltSchema(runtime.definition);
  return {
    id: runtime.id,
    host,
    get config() {
      if (built) {
        throw new KernelError(
          "config_not_ready",
          `extension "${runtime.id}" builds its config schema from contributions, so its config is not available in register`,
        );
      }
      return slices.get(runtime.id);
    },
    contribute: (point, value) => ledger.add(runtime.id, point, value),
    provided: <T>(ref: ServiceRef<T>) => {
      if (!(runtime.definition.provides ?? []).some((r) => r.id === ref.id)) {
        throw new KernelError(
          "undeclared_service",
          `extension "${runtime.id}" asked for its own service "${ref.id}" without listing it in its definition's \`provides\``,
        );
      }
      return () => {
        if (!runtime.services.has(ref.id)) {
          throw new KernelError(
            "service_unavailable",
            `service "${ref.id}" of extension "${runtime.id}" is not available (state: ${runtime.state})`,
          );
        }
        return runtime.services.get(ref.id) as T;
      };
    },
  };
}

/** Creates a host; call `start()` to activate its extensions. */
export function createHost(options: HostOptions): Host {
  return new Host(options);
}
