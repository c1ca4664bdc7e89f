import {
  type ConcurrencyManager,
  type ConcurrencyWrappedProvider,
  wrapProviderWithConcurrency,
} from "@dispatch/provider-concurrency";
import { abortableSleep, type BackoffOptions, backoffDelay } from "./backoff.ts";
import { abortedError, missingKeyError, unavailableError } from "./classify-error.ts";
import { contextWindowsOf, type ModelEntry, modelIds } from "./model-list.ts";
import type { BuiltProvider } from "./provider-kind.ts";
import { runAttempt } from "./run-attempt.ts";
import type {
  CallContext,
  ModelProvider,
  ModelRequest,
  ProviderDescriptor,
  ProviderErrorInfo,
  ProvidersService,
  StreamPart,
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
export interface ProvidersServiceObserver {
  /** A retryable answer before the first token; the call retries after `delayMs`. */
  retry?(event: {
    providerId: string;
    error: ProviderErrorInfo;
    attempt: number;
    delayMs: number;
    paused: boolean;
  }): void;
  /** A call ended with an error part. */
  failed?(event: { providerId: string; error: ProviderErrorInfo; attempts: number }): void;
}

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
  wrapped: ConcurrencyWrappedProvider<ModelRequest, StreamPart> | undefined;
}

/** Adds the attempt count to the provider's last answer, for the final error of a call that gave up. */
function gaveUp(error: ProviderErrorInfo, attempts: number, why?: string): ProviderErrorInfo {
  const tried = `gave up after ${attempts} attempt${attempts === 1 ? "" : "s"}`;
  return {
    ...error,
    retryable: false,
    message: `${why ? `${why}; ` : ""}${tried}; last answer: ${error.message}`,
  };
}

/** `{ contextWindows }` when the models list gives any, else nothing. */
function withContextWindows(models: readonly ModelEntry[]): { contextWindows?: Record<string, number> } {
  const windows = contextWindowsOf(models);
  return Object.keys(windows).length === 0 ? {} : { contextWindows: windows };
}

/** A delay for a message, e.g. "3600 s". */
function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/**
 * The providers service: each call goes through the concurrency manager (one slot per model call),
 * retries 429/529/503/overloaded answers that arrive before the first token with the original
 * `promptStartedAt` (so it keeps its place), pauses the provider for a provider-given delay, and
 * reports every failure as an `error` part. Sets each provider's slot limit on the manager.
 */
export function createProvidersService(options: ProvidersServiceOptions): ProvidersService {
  const { manager, observer = {} } = options;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  for (const { settings, built } of options.providers) {
    manager.setLimit(settings.id, settings.maxConcurrent);
    const wrapped =
      built.status === "available"
        ? wrapProviderWithConcurrency<ModelRequest, StreamPart>(built.provider, manager, {
            providerId: settings.id,
          })
        : undefined;
    entries.set(settings.id, { settings, built, wrapped });
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

  async function* stream(
    providerId: string,
    request: ModelRequest,
    context: CallContext,
  ): AsyncGenerator<StreamPart> {
    const entry = entries.get(providerId);
    const fail = (error: ProviderErrorInfo, attempts: number): StreamPart => {
      observer.failed?.({ providerId, error, attempts });
      return { type: "error", error };
    };
    if (!entry) {
      const known = [...entries.keys()].join(", ") || "none";
      yield fail(
        {
          code: "unknown_provider",
          message: `no provider "${providerId}" is configured (configured: ${known})`,
          retryable: false,
        },
        0,
      );
      return;
    }
    const { built } = entry;
    if (built.status === "unavailable" || !entry.wrapped) {
      const error =
        built.status === "available"
          ? unavailableError(providerId, "it was not built")
          : built.apiKeyEnv
            ? missingKeyError(providerId, built.apiKeyEnv)
            : unavailableError(providerId, built.reason);
      yield fail(error, 0);
      return;
    }
    const { maxAttempts, stallTimeoutMs, maxRetryAfterMs, backoff } = entry.settings;
    for (let attempt = 1; ; attempt++) {
      const attemptRun = runAttempt(entry.wrapped, providerId, request, context, attempt, stallTimeoutMs);
      let outcome: Awaited<ReturnType<typeof attemptRun.next>>;
      try {
        // Pass parts straight through; the attempt's return value tells whether to retry.
        for (;;) {
          outcome = await attemptRun.next();
          if (outcome.done) break;
          const part = outcome.value;
          if (part.type === "error") observer.failed?.({ providerId, error: part.error, attempts: attempt });
          yield part;
        }
      } finally {
        // Our consumer may stop early at a `yield`: close the attempt so its slot is released.
        await attemptRun.return({ kind: "done" });
      }
      const result = outcome.value;
      if (result.kind === "done") return;
      const error = result.error;
      const providerDelay = error.retryAfterMs;
      const paused =
        providerDelay !== undefined && (error.code === "rate_limited" || error.code === "overloaded");
      // The provider asked everyone to wait, not just this call (even if this call gives up now); a
      // pause past the cap would hold every queued turn silently, so it stops at the cap.
      if (paused) manager.pauseUntil(providerId, now() + Math.min(providerDelay, maxRetryAfterMs));
      if (providerDelay !== undefined && providerDelay > maxRetryAfterMs) {
        // Hours of waiting (a spent daily quota) is better said now than spent holding the turn.
        const why = `the provider asked to wait ${seconds(providerDelay)}, more than maxRetryAfterMs (${seconds(maxRetryAfterMs)})`;
        yield fail(gaveUp(error, attempt, why), attempt);
        return;
      }
      if (attempt >= maxAttempts) {
        yield fail(gaveUp(error, attempt), attempt);
        return;
      }
      const delayMs = providerDelay ?? backoffDelay(attempt, backoff, random);
      observer.retry?.({ providerId, error, attempt, delayMs, paused });
      yield {
        type: "waiting",
        reason: "retry",
        attempt: attempt + 1,
        retryInMs: delayMs,
        message: error.message,
      };
      if (!(await abortableSleep(delayMs, context.signal))) {
        yield fail(abortedError(providerId), attempt);
        return;
      }
    }
  }

  return {
    list: () => [...entries.values()].map(describe),
    get: (id) => {
      const entry = entries.get(id);
      return entry ? describe(entry) : undefined;
    },
    stream,
  };
}
