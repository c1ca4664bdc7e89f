import type { CallContext, ModelRequest, PartSink, ProvidersService, StreamPart } from "./types.ts";

/**
 * `ProvidersService.stream` over its `call`: the parts as an async iterable, for consumers that
 * pull. Each part is handed over when the consumer asks for it, and the call waits until then, so it
 * never runs ahead of its consumer. A consumer that leaves early aborts the call and waits for it to
 * give its slot back.
 */
export function streamOfCall(call: ProvidersService["call"]): ProvidersService["stream"] {
  return (providerId, request, context) => partStream(call, providerId, request, context);
}

async function* partStream(
  call: ProvidersService["call"],
  providerId: string,
  request: ModelRequest,
  context: CallContext,
): AsyncGenerator<StreamPart> {
  const local = new AbortController();
  const signal = AbortSignal.any([context.signal, local.signal]);
  let offered: { part: StreamPart; taken: () => void } | undefined;
  let wake: (() => void) | undefined;
  let ended: { error?: unknown } | undefined;
  /** Set once the consumer has left: what the call still pushes (its error part) goes nowhere. */
  let left = false;
  const sink: PartSink = (part) => {
    if (left) return;
    return new Promise<void>((taken) => {
      offered = { part, taken };
      wake?.();
    });
  };
  const running = call(providerId, request, { ...context, signal }, sink).then(
    () => {
      ended = {};
      wake?.();
    },
    (error: unknown) => {
      ended = { error };
      wake?.();
    },
  );
  try {
    for (;;) {
      const current = offered;
      if (current !== undefined) {
        offered = undefined;
        try {
          yield current.part;
        } finally {
          // Taken when the consumer asks for the next part, or leaves.
          current.taken();
        }
        continue;
      }
      if (ended !== undefined) {
        if ("error" in ended) throw ended.error;
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    left = true;
    local.abort();
    await running;
  }
}
