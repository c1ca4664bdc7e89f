import { messageOf } from "@dispatch/kernel";
import type { ValidationResult } from "@dispatch/wire";
import type { ExecutionBackend, ExecutionSession } from "@dispatch/workspace-tools";
import { OutputTail } from "./output-tail.ts";

/** How much of a validation's output is kept: its end, where the verdict usually is. */
export const validationTailBytes = 4096;

/** What `runValidation` needs. */
export interface ValidationRequest {
  backend: ExecutionBackend;
  /** The run's root (the worktree): the command runs there, confined to it. */
  root: string;
  command: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * Runs a task's `validate` command with `bash -c` in the run's root as a session of the execution
 * backend (local or over SSH), keeping only the last 4 KiB of stdout and stderr as they came, so
 * even a command killed at its timeout leaves its last words. Never throws: a command that cannot
 * start is status `error`.
 */
export async function runValidation(request: ValidationRequest): Promise<ValidationResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let session: ExecutionSession;
  try {
    session = await request.backend.spawn(request.command, {
      root: request.root,
      ...(request.signal === undefined ? {} : { signal: request.signal }),
    });
  } catch (error) {
    return {
      status: "error",
      exitCode: null,
      output: `could not start: ${messageOf(error)}`,
      durationMs: elapsed(),
    };
  }
  const tail = new OutputTail(validationTailBytes);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void session.kill("SIGTERM");
  }, request.timeoutMs);
  try {
    const read = (async () => {
      for await (const chunk of session.output) tail.push(chunk.data);
    })();
    const [exit] = await Promise.all([session.exited, read]);
    if (timedOut)
      return { status: "timeout", exitCode: exit.exitCode, output: tail.text(), durationMs: elapsed() };
    if (request.signal?.aborted) {
      return {
        status: "error",
        exitCode: exit.exitCode,
        output: `${tail.text()}\n[stopped: ${messageOf(request.signal.reason)}]`,
        durationMs: elapsed(),
      };
    }
    return {
      status: exit.exitCode === 0 ? "passed" : "failed",
      exitCode: exit.exitCode,
      output: tail.text(),
      durationMs: elapsed(),
    };
  } catch (error) {
    return {
      status: "error",
      exitCode: null,
      output: `${tail.text()}\n[${messageOf(error)}]`,
      durationMs: elapsed(),
    };
  } finally {
    clearTimeout(timer);
    await session.close();
  }
}
