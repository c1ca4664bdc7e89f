import type { ConcurrencyManager } from "@dispatch/provider-concurrency";
import type { BackoffOptions } from "./backoff.ts";
import { missingKeyError, unavailableError } from "./classify-error.ts";
import { type CallObserver, type ModelCallDeps, modelCall } from "./model-call.ts";
import { contextWindowsOf, type ModelEntry, modelIds } from "./model-list.ts";
import { streamOfCall } from "./part-stream.ts";
import type { BuiltProvider } from "./provider-kind.ts";
import type {
  CallContext,
  ModelProvider,
  ModelRequest,
  PartSink,
  ProviderDescriptor,
  ProviderErrorInfo,
  ProvidersService,
} from "./types.ts";

/** The per-provider settings the service needs (a subset of the provider's config). */
export interface ProviderSettings {
  id: string;
  kind: ModelProvider["kind"];
  models: readonly ModelEntry[];
  maxConcurrent: number;
  maxAttempts: number;
  stallTimeoutMs: number;
  maxRetryAfterMs: number;
  backoff: BackoffOptions;
}

/** What the service reports as it works (for logs and metrics). Callbacks must not throw. */
export type ProvidersServiceObserver = CallObserver;

/** Options of `createProvidersService`. */
export interface ProvidersServiceOptions {
  manager: ConcurrencyManager;
  providers: ReadonlyArray<{ settings: ProviderSettings; built: BuiltProvider }>;
  observer?: ProvidersServiceObserver;
  /** For backoff jitter; defaults to Math.random. */
  random?: () => number;
  /** Epoch ms; defaults to Date.now. */
  now?: () => number;
}

interface Entry {
  settings: ProviderSettings;
  built: BuiltProvider;
}

/** `{ contextWindows }` when the models list gives any, else nothing. */
function withContextWindows(models: readonly ModelEntry[]): { contextWindows?: Record<string, number> } {
  const windows = contextWindowsOf(models);
  return Object.keys(windows).length === 0 ? {} : { contextWindows: windows };
}

/**
 * The providers service: each call goes through the concurrency manager (one slot per model call),
 * retries 429/529/503/overloaded answers that arrive before the first token with the original
 * `promptStartedAt` (so it keeps its place), pauses the provider for a provider-given delay, and
 * reports every failure as an `error` part. Sets each provider's slot limit on the manager.
 */
export function createProvidersService(options: ProvidersServiceOptions): ProvidersService {
  const { manager, observer = {} } = options;
  const deps: ModelCallDeps = {
    manager,
    observer,
    random: options.random ?? Math.random,
    now: options.now ?? Date.now,
  };
  const entries = new Map<string, Entry>();
  for (const { settings, built } of options.providers) {
    manager.setLimit(settings.id, settings.maxConcurrent);
    entries.set(settings.id, { settings, built });
  }

  const describe = ({ settings, built }: Entry): ProviderDescriptor => ({
    id: settings.id,
    kind: settings.kind,
    models: modelIds(settings.models),
    ...withContextWindows(settings.models),
    maxConcurrent: settings.maxConcurrent,
    status: built.status,
    ...(built.status === "unavailable" ? { reason: built.reason } : {}),
  });

  /** Refusals that need no slot; everything else is one `modelCall`. */
  async function call(
    providerId: string,
    request: ModelRequest,
    context: CallContext,
    sink: PartSink,
  ): Promise<void> {
    const entry = entries.get(providerId);
    if (entry === undefined) {
      const known = [...entries.keys()].join(", ") || "none";
      return refuse(providerId, sink, {
        code: "unknown_provider",
        message: `no provider "${providerId}" is configured (configured: ${known})`,
        retryable: false,
      });
    }
    const { built } = entry;
    if (built.status === "unavailable") {
      return refuse(
        providerId,
        sink,
        built.apiKeyEnv
          ? missingKeyError(providerId, built.apiKeyEnv)
          : unavailableError(providerId, built.reason),
      );
    }
    return modelCall(providerId, built.provider, entry.settings, request, context, deps, sink);
  }

  async function refuse(providerId: string, sink: PartSink, error: ProviderErrorInfo): Promise<void> {
    observer.failed?.({ providerId, error, attempts: 0 });
    await sink({ type: "error", error });
  }

  return {
    list: () => [...entries.values()].map(describe),
    get: (id) => {
      const entry = entries.get(id);
      return entry ? describe(entry) : undefined;
    },
    call,
    stream: streamOfCall(call),
  };
}
