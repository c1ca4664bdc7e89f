import {
  type AnyExtension,
  createHost,
  extensionConfigKeys,
  type Host,
  type Logger,
  StartupError,
} from "@dispatch/kernel";
import { defaultToolsConfig } from "@dispatch/workspace-tools";
import {
  ConfigError,
  type ConfigInputs,
  checkExtensionConfig,
  type LoadedConfig,
  loadConfig,
} from "./config.ts";
import { builtinExtensions, loadExtensionPaths } from "./extensions.ts";
import { addToolSecretNames, secretEnvNames } from "./secret-env.ts";
import { addToolHiddenPaths, secretFiles } from "./tool-hidden-paths.ts";
import { hostVersion } from "./version.ts";

/** A validated config, the full extension list (built-in first, then `extensions.paths`) and a checked host. */
export interface Prepared {
  config: LoadedConfig;
  extensions: AnyExtension[];
  /** Checked (graph, register phase, every config slice) but not started. */
  host: Host;
}

/**
 * Everything every command does before it starts anything: throws ConfigError (exit 2) for config
 * problems, including options of kinds contributed by extensions, or StartupError (exit 1) for the graph.
 */
export async function prepare(
  inputs: ConfigInputs & { logger?: Logger },
  builtins: readonly AnyExtension[] = builtinExtensions(),
): Promise<Prepared> {
  const config = loadConfig(inputs);
  const thirdParty = await loadExtensionPaths(config.host.extensions.paths, config.baseDir);
  const extensions = [...builtins, ...thirdParty];
  checkExtensionConfig(config, extensions);
  // Whatever config says holds a secret never reaches a tool's process, however it is named.
  if (extensionConfigKeys(extensions).has("tools")) {
    addToolSecretNames(config.raw, secretEnvNames(config.raw));
    // ...and the files that hold secrets are hidden from sandboxed bash.
    const configFile = config.source === "embedded default" ? undefined : config.source;
    addToolHiddenPaths(config.raw, secretFiles(config.raw, configFile), defaultToolsConfig.hiddenPaths);
  }
  const host = createHost({
    extensions,
    config: config.raw,
    dataDir: config.dataDir,
    version: hostVersion,
    disabled: config.host.extensions.disabled,
    shutdownTimeoutMs: config.host.guards.shutdownTimeoutMs,
    ...(inputs.logger ? { logger: inputs.logger } : {}),
  });
  try {
    host.check();
  } catch (error) {
    if (error instanceof StartupError && error.problems.every((p) => p.code === "invalid_config")) {
      throw new ConfigError(
        error.problems.map((p) => ({
          path: p.path ?? "(root)",
          message: p.message.slice((p.path ?? "").length + 2),
        })),
      );
    }
    throw error;
  }
  return { config, extensions, host };
}
