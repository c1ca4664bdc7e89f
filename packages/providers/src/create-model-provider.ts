import { builtinProviderKinds } from "./builtin-kinds.ts";
import type { ProviderConfig } from "./config.ts";
import type { BuiltProvider, ProviderEnv, ProviderKind } from "./provider-kind.ts";

/**
 * Builds the provider a parsed config entry describes, with the kind it names among `kinds`. A kind
 * whose `create` throws gives an `unavailable` provider with the message, so one faulty kind does
 * not stop the host. An entry of a kind not in `kinds` is misuse (config validation rules it out).
 */
export function createModelProvider(
  config: ProviderConfig,
  env: ProviderEnv = process.env,
  kinds: readonly ProviderKind[] = builtinProviderKinds,
): BuiltProvider {
  const kind = kinds.find((k) => k.kind === config.kind);
  if (!kind) throw new Error(`no provider kind "${config.kind}" to build provider "${config.id}"`);
  try {
    return kind.create(config, env);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { status: "unavailable", reason: `provider kind "${config.kind}" failed to build it: ${reason}` };
  }
}
