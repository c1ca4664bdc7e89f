import { Counter, defineExtension } from "@dispatch/kernel";
import { concurrencyManagerRef } from "@dispatch/provider-concurrency";
import { builtinProviderKinds } from "./builtin-kinds.ts";
import { providersConfigSchemaOf } from "./config.ts";
import { createModelProvider } from "./create-model-provider.ts";
import { providerKindsPoint } from "./provider-kind.ts";
import { createProvidersService } from "./providers-service.ts";
import { providersRef } from "./types.ts";

/**
 * The `providers` extension: owns the provider-kinds point (its own kinds are contributed there like
 * anyone else's), validates each `providers[]` entry with its kind's options, builds each configured
 * provider (keys read once from the variables named in config, never logged), gives each its slot
 * limit on the concurrency manager, and provides the ProvidersService. With no `providers` config it
 * runs the scripted provider only.
 */
export const providersExtension = defineExtension({
  manifest: { id: "providers", version: "0.1.0", dependsOn: ["provider-concurrency"], critical: true },
  provides: [providersRef],
  consumes: [concurrencyManagerRef],
  extensionPoints: [providerKindsPoint],
  config: {
    key: "providers",
    schema: (points) => providersConfigSchemaOf(points.contributions(providerKindsPoint).map((c) => c.value)),
  },
  register(reg) {
    for (const kind of builtinProviderKinds) reg.contribute(providerKindsPoint, kind);
  },
  activate(ctx) {
    const manager = ctx.use(concurrencyManagerRef);
    const contributions = ctx.contributions(providerKindsPoint);
    const kinds = contributions.map((c) => c.value);
    const built = ctx.config.map((config) => ({
      config,
      built: createModelProvider(config, process.env, kinds),
      /** The extension that contributed the entry's kind, for the start-up log. */
      from: contributions.find((c) => c.value.kind === config.kind)?.extensionId,
    }));

    const retries = new Counter({
      name: "dispatch_provider_call_retries_total",
      help: "Model calls retried after a 429/529/503/overloaded answer before the first token",
      labelNames: ["provider", "code"],
      registers: [ctx.metrics],
    });
    const errors = new Counter({
      name: "dispatch_provider_call_errors_total",
      help: "Model calls that ended with an error",
      labelNames: ["provider", "code"],
      registers: [ctx.metrics],
    });

    const service = createProvidersService({
      manager,
      providers: built.map(({ config, built }) => ({ settings: config, built })),
      observer: {
        retry({ providerId, error, attempt, delayMs, paused }) {
          retries.inc({ provider: providerId, code: error.code });
          ctx.logger.warn("model call will be retried", {
            provider: providerId,
            code: error.code,
            status: error.status,
            attempt,
            delayMs,
            paused,
            answer: error.message,
          });
        },
        failed({ providerId, error }) {
          errors.inc({ provider: providerId, code: error.code });
        },
      },
    });

    for (const { config, built: b, from } of built) {
      // Only what identifies the provider: never its headers or key.
      const fields = {
        provider: config.id,
        kind: config.kind,
        ...(from !== "providers" ? { kindFrom: from } : {}),
        baseURL: config.baseURL,
        maxConcurrent: config.maxConcurrent,
      };
      if (b.status === "available") ctx.logger.info("provider ready", fields);
      else ctx.logger.warn("provider unavailable", { ...fields, reason: b.reason });
    }
    if (built.every(({ config }) => config.kind === "scripted")) {
      ctx.logger.info("running with the scripted provider only: no model provider is configured", {
        providers: built.map(({ config }) => config.id),
      });
    }

    ctx.setHealth(() => ({
      providers: service
        .list()
        .map(({ id, kind, status, reason }) => ({ id, kind, status, ...(reason ? { reason } : {}) })),
    }));
    ctx.provide(providersRef, service);
  },
});
