import { type AnyExtension, extensionConfigKeys } from "@dispatch/kernel";
import { type ConfigInputs, checkExtensionConfig, type LoadedConfig, loadConfig } from "./config.ts";
import { builtinExtensions, loadExtensionPaths } from "./extensions.ts";
import { addToolSecretNames, secretEnvNames } from "./secret-env.ts";

/** A validated config and the full extension list (built-in first, then `extensions.paths`). */
export interface Prepared {
  config: LoadedConfig;
  extensions: AnyExtension[];
}

/** Everything every command does before it touches the kernel; throws ConfigError (exit 2). */
export async function prepare(
  inputs: ConfigInputs,
  builtins: readonly AnyExtension[] = builtinExtensions(),
): Promise<Prepared> {
  const config = loadConfig(inputs);
  const thirdParty = await loadExtensionPaths(config.host.extensions.paths, config.baseDir);
  const extensions = [...builtins, ...thirdParty];
  checkExtensionConfig(config, extensions);
  // Whatever config says holds a secret never reaches a tool's process, however it is named.
  if (extensionConfigKeys(extensions).has("tools"))
    addToolSecretNames(config.raw, secretEnvNames(config.raw));
  return { config, extensions };
}
