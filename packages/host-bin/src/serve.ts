import { mkdirSync } from "node:fs";
import { DispatchError, type Logger, messageOf, StartupError } from "@dispatch/kernel";
import { endLeftoverToolProcesses } from "@dispatch/workspace-tools";
import type { ServeFlags } from "./cli.ts";
import { installCrashGuards } from "./crash-guards.ts";
import { activeConversations } from "./extensions.ts";
import { prepare } from "./prepare.ts";
import { dropSecretsFromEnvironment, secretEnvNames } from "./secret-env.ts";
import { installSignalHandlers } from "./signals.ts";
import { StatusFile, type StatusSnapshot } from "./status-file.ts";
import { hostVersion } from "./version.ts";

/** Exit status when the fault budget is spent (EX_SOFTWARE): the supervisor should restart us. */
export const faultBudgetExitCode = 70;
const statusIntervalMs = 5000;

/** What `serve` needs from the process around it. */
export interface ServeEnvironment {
  env: Record<string, string | undefined>;
  cwd: string;
  logger: Logger;
  /** Ends the process at once (second signal); the normal path returns an exit code instead. */
  exitNow(code: number): never;
}

type FinalState = Pick<StatusSnapshot, "state" | "reason">;

/**
 * `dispatch serve`: loads config and extensions, starts the host, and resolves with the exit code once
 * it has shut down (signal: 0, fault budget: 70, start-up failure: 1). Throws ConfigError (exit 2), or a
 * DispatchError when the data dir cannot be created (exit 1).
 */
export async function serve(flags: ServeFlags, io: ServeEnvironment): Promise<number> {
  const began = performance.now();
  const { logger } = io;
  const { config, host } = await prepare({ flags, env: io.env, cwd: io.cwd, logger });
  try {
    mkdirSync(config.dataDir, { recursive: true });
  } catch (error) {
    throw new DispatchError(
      "data_dir_unusable",
      `cannot create the data dir ${config.dataDir}: ${messageOf(error)}`,
    );
  }
  // Before the host starts (and before any signal handler could begin a shutdown): the orchestrator's
  // recovery marks the turns of these tools interrupted, and none may still run (or write) by then.
  const leftovers = await endLeftoverToolProcesses(config.dataDir);
  if (leftovers.ended.length > 0) {
    logger.warn("ended tool processes left running by the previous run", { processGroups: leftovers.ended });
  }
  logger.info("starting", {
    version: hostVersion,
    pid: process.pid,
    dataDir: config.dataDir,
    config: config.source,
  });

  const status = new StatusFile({
    dataDir: config.dataDir,
    version: hostVersion,
    startedAt: host.info.startedAt,
    activeConversations: () => activeConversations(host),
    faults: () => host.faults.total(),
    onError: (err) => logger.warn("could not write the status file", { err }),
  });
  let finalWritten = false;
  const writeFinal = (final: FinalState, exitCode: number) => {
    finalWritten = true;
    const err = status.write({ ...final, stoppedAt: new Date().toISOString(), exitCode });
    if (err) logger.error("could not write the final status file", { err });
  };
  // last resort: whatever ends the process, status.json must not keep saying "running"
  const onExit = (code: number) => {
    if (!finalWritten) writeFinal({ state: "crashed", reason: `process exited with status ${code}` }, code);
  };
  process.on("exit", onExit);

  let starting: Promise<void> = Promise.resolve();
  let stopping: Promise<number> | undefined;
  const stopped = Promise.withResolvers<number>();
  const shutdown = (exitCode: number, final: FinalState): Promise<number> => {
    stopping ??= (async () => {
      // a signal during start-up waits for it, so no extension is left half-started
      await starting.catch(() => {});
      status.stop();
      const report = await host.stop();
      writeFinal(final, exitCode);
      logger.info("stopped", { exitCode, shutdownErrors: report.errors.length, timedOut: report.timedOut });
      stopped.resolve(exitCode);
      return exitCode;
    })();
    return stopping;
  };

  installCrashGuards({
    faults: host.faults,
    logger,
    budget: config.host.guards.faultBudget,
    windowMs: config.host.guards.faultWindowMs,
    onBudgetExceeded: () =>
      void shutdown(faultBudgetExitCode, { state: "crashed", reason: "fault budget exceeded" }),
  });
  installSignalHandlers({
    logger,
    shutdown: () => void shutdown(0, { state: "stopped" }),
    exitNow: (code) => {
      writeFinal({ state: "stopped", reason: "second signal: exited before shutdown finished" }, code);
      io.exitNow(code);
    },
  });

  starting = host.start();
  try {
    await starting;
  } catch (error) {
    const problems = error instanceof StartupError ? error.problems : [];
    logger.error("start-up failed", {
      message: error instanceof Error ? error.message : String(error),
      problems: problems.map(({ extensionId, code, message }) => ({ extensionId, code, message })),
    });
    writeFinal({ state: "crashed", reason: "start-up failed" }, 1);
    return 1;
  }
  // Every extension has read what it needs (provider keys, the token); the agent must not find them
  // in this process's environment.
  const dropped = dropSecretsFromEnvironment(secretEnvNames(config.raw), io.env);
  if (dropped.problem !== undefined) {
    logger.warn("could not blank secrets in the process's initial environment", { problem: dropped.problem });
  }
  logger.info("dropped secrets from the host's environment", {
    removed: dropped.removed,
    blanked: dropped.blanked.length,
  });
  // a signal during start-up: the host stopped what it had started, and shutdown finishes the rest
  if (stopping) return await stopped.promise;
  status.start(statusIntervalMs);
  logger.info("ready", { startupMs: Math.round(performance.now() - began) });
  return await stopped.promise;
}
