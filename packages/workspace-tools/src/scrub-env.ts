/** Variable names that look like credentials: dropped from what tools' processes inherit. */
const secretName = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL/i;

/** True when a variable must not reach a tool's process: Dispatch's own settings and anything secret-looking. */
export function isSecretEnvName(name: string): boolean {
  return name.toUpperCase().startsWith("DISPATCH_") || secretName.test(name);
}

/**
 * The host's environment minus its own secrets (`DISPATCH_*`, provider keys, tokens, passwords) and
 * every name in `also` (the variables config names as holding secrets, whatever they are called);
 * PATH, HOME, LANG and the like pass through so commands behave as in a shell.
 */
export function scrubEnv(
  env: Record<string, string | undefined>,
  also: readonly string[] = [],
): Record<string, string> {
  const named = new Set(also);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !isSecretEnvName(name) && !named.has(name)) out[name] = value;
  }
  return out;
}
