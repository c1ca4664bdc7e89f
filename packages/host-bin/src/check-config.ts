import type { ConfigFlags } from "./cli.ts";
import type { ConfigInputs } from "./config.ts";
import { prepare } from "./prepare.ts";

/**
 * `dispatch check-config`: validates the config (ConfigError, exit 2) and the extension graph it
 * produces (StartupError, exit 1) without running any extension; returns the config's source.
 */
export async function checkConfig(flags: ConfigFlags, io: Omit<ConfigInputs, "flags">): Promise<string> {
  const { config } = await prepare({ flags, ...io });
  return config.source;
}
