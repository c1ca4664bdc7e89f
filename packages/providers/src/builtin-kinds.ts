import { anthropicKind } from "./anthropic-kind.ts";
import { openaiCompatibleKind } from "./openai-compatible-kind.ts";
import type { ProviderKind } from "./provider-kind.ts";
import { scriptedKind } from "./scripted-kind.ts";

/** The kinds the providers extension contributes to its own point, like any other contributor. */
export const builtinProviderKinds: readonly ProviderKind[] = [
  anthropicKind,
  openaiCompatibleKind,
  scriptedKind,
];
