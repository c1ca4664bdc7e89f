import type { ToolDefinition } from "@dispatch/session-orchestrator";
import { z } from "zod";
import type { ExecResult } from "../backend.ts";
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
      : `exit code: ${result.exitCode}`,
  );
  if (result.stdout !== "") parts.push(`--- stdout ---\n${result.stdout}`);
  if (result.stderr !== "") parts.push(`--- stderr ---\n${result.stderr}`);
  if (result.stdout === "" && result.stderr === "") parts.push("(no output)");
  if (result.truncated)
    parts.push("[truncated: stdout or stderr exceeded the output limit; only its start is shown]");
  return parts.join("\n");
}

/**
 * `bash`: runs a command in the workspace root on the workspace's backend, in its own process group,
 * with a timeout; cancel kills the whole group. A non-zero exit, a timeout or a cancel is an error result.
 */
export function bashTool(deps: ToolDeps): ToolDefinition<z.output<typeof input>> {
  return workspaceTool(deps.config.maxOutputBytes, {
    name: "bash",
    description:
      "Run a shell command with bash in the workspace root and return its exit code, stdout and stderr. " +
      `Times out after ${deps.config.bashTimeoutMs} ms unless a shorter timeoutMs is given.`,
    input,
    async run({ command, timeoutMs }, context) {
      const workspace = await openWorkspace(deps, context, true);
      const root = await resolvePath(workspace, ".");
      const limit = Math.min(timeoutMs ?? deps.config.bashTimeoutMs, deps.config.bashTimeoutMs);
      const result = await workspace.backend.exec(command, {
        cwd: root.absolute,
        timeoutMs: limit,
        signal: context.signal,
        maxOutputBytes: deps.config.maxOutputBytes,
      });
      const cancelled = context.signal.aborted;
      return {
        output: formatExecResult(result, { timeoutMs: limit, cancelled }),
        isError: cancelled || result.timedOut || result.exitCode !== 0,
      };
    },
  });
}
