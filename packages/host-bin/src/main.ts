/**
 * The `dispatch` binary: `bin/dispatch` runs `bun packages/host-bin/src/main.ts <args>`.
 * Exit status: 0 ok, 1 start-up failure, 2 usage or config error, 70 fault budget spent, 130 second signal.
 * The client commands (ws, chat, tail, tasks): 0 ok, 1 the host answered an error, 2 usage, 3 the host
 * cannot be reached, 130 Ctrl-C.
 */

import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { createLogger, DispatchError, parseLogLevel } from "@dispatch/kernel";
import { checkConfig } from "./check-config.ts";
import { parseCli, UsageError, usage } from "./cli.ts";
import { runClientCommand } from "./client-commands.ts";
import { ConfigError } from "./config.ts";
import { repoRoot } from "./host-packages.ts";
import { linkExtension } from "./link-extension.ts";
import { formatExtensionTable, listExtensions } from "./list-extensions.ts";
import { newExtension } from "./new-extension.ts";
import { serve } from "./serve.ts";
import { testExtension } from "./test-extension.ts";
import { hostVersion } from "./version.ts";

const logger = createLogger({ level: parseLogLevel(process.env.DISPATCH_LOG_LEVEL) });
const io = { env: process.env, cwd: process.cwd() };
const repoBin = join(repoRoot, "bin", "dispatch");
const interruptHandlers = new Set<() => void>();

async function main(argv: readonly string[]): Promise<number> {
  const cli = parseCli(argv);
  switch (cli.command) {
    case "help":
      process.stdout.write(usage);
      return 0;
    case "version":
      process.stdout.write(`dispatch ${hostVersion}\n`);
      return 0;
    case "check-config": {
      const source = await checkConfig(cli.flags, io);
      process.stdout.write(`config ok (${source})\n`);
      return 0;
    }
    case "extensions":
      process.stdout.write(formatExtensionTable(await listExtensions(cli.flags, io)));
      return 0;
    case "new-extension": {
      const made = newExtension(resolve(io.cwd, cli.dir));
      process.stdout.write(
        `created extension "${made.id}" in ${made.dir}: ${made.files.join(", ")}\n` +
          `test it:  ${repoBin} test ${made.dir}\n` +
          `load it:  "extensions": { "paths": ["${made.dir}/src/index.ts"] }\n`,
      );
      return 0;
    }
    case "link": {
      const { linked, kept } = linkExtension(resolve(io.cwd, cli.dir));
      process.stdout.write(
        `linked ${linked.length} modules${kept.length ? `; kept your own ${kept.join(", ")}` : ""}\n`,
      );
      return 0;
    }
    case "test":
      return await testExtension(resolve(io.cwd, cli.dir), cli.bunArgs);
    case "client":
      // One listener for the command's whole life: a Ctrl-C nobody is waiting for still exits 130
      // rather than killing the process by the signal.
      process.on("SIGINT", () => {
        if (interruptHandlers.size === 0) process.exit(130);
        for (const handler of [...interruptHandlers]) handler();
      });
      return await runClientCommand(cli.client, {
        env: process.env,
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
        onInterrupt: (handler) => {
          interruptHandlers.add(handler);
          return () => interruptHandlers.delete(handler);
        },
        // terminal: false: the terminal stays in cooked mode, so Ctrl-C is a SIGINT from the kernel
        lines: () => createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator](),
      });
    case "serve":
      return await serve(cli.flags, { ...io, logger, exitNow: (code) => process.exit(code) });
  }
}

/** Expected failures print a message and no stack; only the unexpected are logged with one. */
function report(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`dispatch: ${error.message}\n\n${usage}`);
    return 2;
  }
  if (error instanceof ConfigError) {
    for (const issue of error.issues) process.stderr.write(`config error: ${issue.path}: ${issue.message}\n`);
    return 2;
  }
  if (DispatchError.isInstance(error)) {
    // StartupError included: its message is already the aggregated report
    process.stderr.write(`dispatch: ${error.message}\n`);
    return 1;
  }
  logger.error("dispatch failed", { err: error });
  return 1;
}

const code = await main(Bun.argv.slice(2)).catch(report);
process.exit(code);
