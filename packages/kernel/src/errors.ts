/**
 * The error every Dispatch package throws or returns: a stable `code` a caller can switch on (the HTTP
 * layer maps codes such as `not_found`, `conflict`, `conversation_busy` to statuses) and a message a
 * user can act on.
 */
import type { ErrorCode } from "@dispatch/wire";

const brand = Symbol.for("dispatch.error");

export class DispatchError extends Error {
  readonly [brand] = true;
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DispatchError";
    this.code = code;
    this.details = options?.details;
  }

  /** True for any DispatchError (or subclass), even one from a second copy of this package. */
  static isInstance(value: unknown): value is DispatchError {
    return value instanceof Error && brand in value;
  }
}

/** Errors raised by the extension host itself. */
export class KernelError extends DispatchError {
  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(code, message, options);
    this.name = "KernelError";
  }
}

/** One problem found while checking or starting the extension graph. */
export interface StartupProblem {
  extensionId: string;
  code: string;
  message: string;
  /** For `invalid_config`: the JSON path of the offending value (`providers[2].temperature`). */
  path?: string;
  cause?: unknown;
}

/** All problems that stopped start-up, reported at once. */
export class StartupError extends KernelError {
  readonly problems: readonly StartupProblem[];

  constructor(problems: readonly StartupProblem[]) {
    const lines = problems.map((p) => `  - [${p.extensionId}] ${p.message}`);
    super("startup_failed", `Dispatch could not start:\n${lines.join("\n")}`, {
      details: {
        problems: problems.map(({ extensionId, code, message }) => ({ extensionId, code, message })),
      },
    });
    this.name = "StartupError";
    this.problems = problems;
  }
}

/** Renders any thrown value as a message without losing the non-Error case. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === "string" ? error : JSON.stringify(error);
}
