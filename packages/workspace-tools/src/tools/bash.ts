import { constants } from "node:os";
import type { ToolDefinition } from "@dispatch/session-orchestrator";
import { z } from "zod";
import type { ExecResult } from "../backend.ts";
import { PRELUDE_FAILED_EXIT } from "../sandbox/bwrap-launcher.ts";
import { openWorkspace, resolvePath, type ToolDeps, workspaceTool } from "../tool-kit.ts";

const input = z
  .object({
    command: z.string().min(1).describe("Shell command, run with `bash -c` in the workspace root"),
    timeoutMs: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe("Time limit in milliseconds (capped by the host's limit)"),
  })
  .strict();

const signalNames = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name]));
/** Known reasons a process dies of a signal by itself: what a sandbox limit looks like from inside. */
const signalMeanings: Record<string, string> = {
  SIGKILL: "killed",
  SIGXCPU: "CPU time limit exceeded",
  SIGSEGV: "segmentation fault",
  SIGTERM: "terminated",
};

/** For a shell's `128 + n` exit status: the signal `n` that ended the command, in words. */
function signalNote(exitCode: number): string {
  const name = exitCode > 128 ? signalNames.get(exitCode - 128) : undefined;
  if (name === undefined) return "";
  const meaning = signalMeanings[name];
  return ` (the command died of ${name}${meaning === undefined ? "" : `: ${meaning}`})`;
}

/** Renders a command's result for the model. */
export function formatExecResult(
  result: ExecResult,
  notes: { timeoutMs: number; cancelled: boolean },
): string {
  const parts: string[] = [];
  if (notes.cancelled) parts.push("[cancelled: the command and all its child processes were killed]");
  else if (result.timedOut) {
    parts.push(
      `[timed out after ${notes.timeoutMs} ms: the command and all its child processes were killed]`,
    );
  }
  parts.push(
    result.exitCode === null
      ? `exit: killed by ${result.signal ?? "a signal"}`
      : `exit code: ${result.exitCode}${signalNote(result.exitCode)}`,
  );
  if (result.stdout !== "") parts.push(`--- stdout ---\n${result.stdout}`);
  if (result.stderr !== "") parts.push(`--- stderr ---\n${result.stderr}`);
  if (result.stdout === "" && result.stderr === "") parts.push("(no output)");
  if (result.truncated)
    parts.push("[truncated: stdout or stderr exceeded the output limit; only its start is shown]");
  return parts.join("\n");
}

/** True when bwrap itself could not set the sandbox up (its messages start with `bwrap: `). */
function sandboxFailed(result: ExecResult): boolean {
  return (
    result.exitCode === PRELUDE_FAILED_EXIT || (result.exitCode === 1 && result.stderr.startsWith("bwrap: "))
  );
}

/**
 * `bash`: runs a command in the workspace root on the workspace's backend, in its own process group,
 * with a timeout; cancel kills the whole group. In the host's sandbox (`tools.sandbox`) only the
 * root is writable, `/tmp` is private, the network is off unless the workspace allows it, and
 * nothing the command starts outlives it. A non-zero exit, a timeout, a cancel or a sandbox that
 * must but cannot run is an error result.
 */
export function bashTool(deps: ToolDeps): ToolDefinition<z.output<typeof input>> {
  return workspaceTool(deps.config.maxOutputBytes, {
    name: "bash",
    description:
      "Run a shell command with bash in the workspace root and return its exit code, stdout and stderr. " +
      `Times out after ${deps.config.bashTimeoutMs} ms unless a shorter timeoutMs is given. ` +
      (deps.config.sandbox === "none"
        ? ""
        : "On a host with the sandbox, only the workspace root is writable, /tmp is private to the call, " +
          "there is no network unless the workspace allows it, and background processes end with the call."),
    input,
    subject: ({ command }) => command.trim(),
    async run({ command, timeoutMs }, context) {
      const workspace = await openWorkspace(deps, context, true);
      const root = await resolvePath(workspace, ".");
      const limit = Math.min(timeoutMs ?? deps.config.bashTimeoutMs, deps.config.bashTimeoutMs);
      const sandbox = await deps.sandbox.prepare(
        context.workspace,
        workspace.backend,
        root.absolute,
        root.absolute,
      );
      let result: ExecResult;
      try {
        result = await workspace.backend.exec(command, {
          cwd: root.absolute,
          timeoutMs: limit,
          signal: context.signal,
          maxOutputBytes: deps.config.maxOutputBytes,
          ...(sandbox.launcher === undefined ? {} : { launcher: sandbox.launcher }),
        });
      } finally {
        await sandbox.release();
      }
      const cancelled = context.signal.aborted;
      const isError = cancelled || result.timedOut || result.exitCode !== 0;
      let output = formatExecResult(result, { timeoutMs: limit, cancelled });
      if (sandbox.launcher !== undefined && sandboxFailed(result))
        output = `[the sandbox could not start the command; nothing of it ran]\n${output}`;
      if (isError && sandbox.note !== undefined) output = `${output}\n${sandbox.note}`;
      return { output, isError };
    },
  });
}
