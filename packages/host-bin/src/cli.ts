import { parseArgs } from "node:util";
import { UsageError } from "./cli-errors.ts";
import { type ClientCommand, clientCommands, parseClientCommand } from "./client-cli.ts";

export { UsageError } from "./cli-errors.ts";

/** What the command line asked for. */
export type CliCommand =
  | { command: "serve"; flags: ServeFlags }
  | { command: "extensions"; flags: ConfigFlags }
  | { command: "check-config"; flags: ConfigFlags }
  | { command: "new-extension" | "link"; dir: string }
  | { command: "test"; dir: string; bunArgs: string[] }
  | { command: "client"; client: ClientCommand }
  | { command: "help" }
  | { command: "version" };

/** Flags every command that reads config accepts. */
export interface ConfigFlags {
  config?: string;
}

/** Flags of `dispatch serve`; each overrides the config file and the environment. */
export interface ServeFlags extends ConfigFlags {
  host?: string;
  port?: number;
  dataDir?: string;
}

/** The text `dispatch --help` prints. */
export const usage = `Usage: dispatch <command> [options]

Commands:
  serve          start the host (the default when no command is given)
  extensions     print the extensions in activation order with their versions, dependencies and states
  check-config   validate the config file and exit (0: ok, 2: errors)
  new-extension DIR
                 scaffold an extension outside this repo in DIR (new or empty; its name is the id)
  test DIR [-- BUN_TEST_ARGS]
                 run the tests of the extension in DIR with this checkout's Bun; exits with their status
  link DIR       link this checkout's @dispatch/* packages, hono, zod, drizzle-orm, @types/bun and
                 typescript into DIR/node_modules (new-extension and test do it themselves)

Client commands (talk to a running host; --url URL or $DISPATCH_URL, token from $DISPATCH_TOKEN;
--json prints the API's JSON):
  ws list                          workspaces, starred first (* marks a starred one)
  ws create ID [--name N] [--root DIR] [--host HOST]
  ws star ID | ws unstar ID
  chat WORKSPACE [--conversation ID]
                 interactive: type a message, see the answer stream; Ctrl-C cancels the turn, a
                 second Ctrl-C (or Ctrl-D at the prompt) exits
  tail CONVERSATION [--after SEQ]  follow a conversation's events; resumes after a dropped connection
  tasks add WORKSPACE SPEC... [--title T] [--priority N]
  tasks list [--status S] [--workspace W]
  tasks cancel ID
  Exit status: 0 ok, 1 the host answered an error, 2 usage,
  3 the host cannot be reached, 130 interrupted by Ctrl-C

Options:
  --config FILE     JSON config file (default: $DISPATCH_CONFIG, else the embedded default)
  --host H          listen address (serve only; overrides server.host)
  --port P          listen port, 0 for any free port (serve only; overrides server.port)
  --data-dir DIR    data directory (serve only; overrides dataDir and $DISPATCH_DATA_DIR)
  -h, --help        show this help
  -v, --version     print the version

Environment:
  DISPATCH_CONFIG, DISPATCH_DATA_DIR, DISPATCH_TOKEN (sets server.token), DISPATCH_LOG_LEVEL (debug|info|warn|error)
`;

const commands = new Set(["serve", "extensions", "check-config"]);
/** Commands about an extension folder: one DIR argument and no flags. */
const folderCommands = new Set(["new-extension", "test", "link"]);

/** Parses `argv` (without the runtime and script); throws UsageError on anything unknown. */
export function parseCli(argv: readonly string[]): CliCommand {
  // everything after `--` belongs to `bun test`, unparsed
  if (argv[0] !== undefined && clientCommands.has(argv[0])) {
    return { command: "client", client: parseClientCommand(argv) };
  }
  const dash = argv.indexOf("--");
  const own = dash < 0 ? argv : argv.slice(0, dash);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(own);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: "help" };
  if (values.version) return { command: "version" };
  const command = positionals[0] ?? "serve";
  if (folderCommands.has(command))
    return folderCommand(command, values, positionals, argv.slice(dash + 1), dash);
  if (dash >= 0) throw new UsageError(`"--" is only accepted by "test"`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  if (!commands.has(command)) throw new UsageError(`unknown command "${command}"`);

  const flags: ServeFlags = {};
  if (values.config !== undefined) flags.config = values.config;
  if (command !== "serve") {
    for (const name of ["host", "port", "data-dir"] as const) {
      if (values[name] !== undefined) throw new UsageError(`--${name} is only accepted by "serve"`);
    }
    return { command: command as "extensions" | "check-config", flags };
  }
  if (values.host !== undefined) flags.host = values.host;
  if (values["data-dir"] !== undefined) flags.dataDir = values["data-dir"];
  if (values.port !== undefined) flags.port = parsePort(values.port);
  return { command: "serve", flags };
}

function folderCommand(
  command: string,
  values: ReturnType<typeof parse>["values"],
  positionals: readonly string[],
  rest: string[],
  dash: number,
): CliCommand {
  const flag = Object.keys(values)[0];
  if (flag !== undefined) throw new UsageError(`--${flag} is not accepted by "${command}"`);
  const dir = positionals[1];
  if (dir === undefined)
    throw new UsageError(`"${command}" needs the extension's directory: dispatch ${command} DIR`);
  if (positionals.length > 2) throw new UsageError(`unexpected argument "${positionals[2]}"`);
  if (command === "test") return { command, dir, bunArgs: dash < 0 ? [] : rest };
  if (dash >= 0) throw new UsageError(`"--" is only accepted by "test"`);
  return { command: command as "new-extension" | "link", dir };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      "data-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
}

function parsePort(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new UsageError(`Expected \`--port\` to be an integer from 0 to 65535, got \`${text}\``);
  }
  return port;
}
