import { DispatchError } from "@dispatch/kernel";
import type { ProvidersService } from "@dispatch/providers";
import { modelRunnerId } from "./model-runner.ts";
import { parseRunnerName, type TurnRunner } from "./turn-runner.ts";
import type { CreateConversationInput } from "./types.ts";

/**
 * A new conversation's provider, model and runner: provider and model default from config (a
 * provider's first model when only the provider is given), and the runner must be installed and
 * accept its argument. `invalid_request` naming the field otherwise.
 */
export function conversationChoices(
  input: CreateConversationInput,
  deps: {
    defaults: { provider: string; model: string };
    providers: Partial<Pick<ProvidersService, "get" | "list">>;
    runnerFor: (name: string) => TurnRunner | { missing: string };
  },
): { provider: string; model: string; runner: string } {
  const providers = deps.providers;
  const provider = input.provider ?? deps.defaults.provider;
  if (providers.get !== undefined && providers.get(provider) === undefined) {
    const known = (providers.list?.() ?? []).map((p) => p.id).join(", ");
    throw new DispatchError(
      "invalid_request",
      `provider "${provider}" is not configured (configured: ${known})`,
      {
        details: { field: "provider" },
      },
    );
  }
  const model =
    input.model ??
    (provider === deps.defaults.provider
      ? deps.defaults.model
      : (providers.get?.(provider)?.models[0] ?? deps.defaults.model));
  const runner = input.runner ?? modelRunnerId;
  const found = deps.runnerFor(runner);
  if ("missing" in found)
    throw new DispatchError("invalid_request", found.missing, { details: { field: "runner" } });
  const refusal = found.validate?.(parseRunnerName(runner).argument);
  if (refusal !== undefined) {
    throw new DispatchError("invalid_request", `runner "${runner}": ${refusal}`, {
      details: { field: "runner" },
    });
  }
  return { provider, model, runner };
}
