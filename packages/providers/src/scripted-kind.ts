import { z } from "zod";
import { defineProviderKind } from "./provider-kind.ts";
import { scriptSchema } from "./script.ts";
import { createScriptedProvider } from "./scripted-provider.ts";

/** The `scripted` kind: follows a script from config, for demos, tests and extension authors. */
export const scriptedKind = defineProviderKind({
  kind: "scripted",
  options: z.object({ script: scriptSchema.optional() }),
  create: (config) => ({ status: "available", provider: createScriptedProvider(config.id, config.script) }),
});
