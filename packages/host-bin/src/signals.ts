import type { Logger } from "@dispatch/kernel";

/** Options for `installSignalHandlers`. */
export interface SignalOptions {
  logger: Logger;
  /** Graceful shutdown; runs once, on the first SIGTERM or SIGINT. */
  shutdown(signal: NodeJS.Signals): void;
  /** Called on a second signal while the first shutdown is still running. */
  exitNow(code: number): void;
}

const handled = ["SIGTERM", "SIGINT"] as const;

/**
 * The first SIGTERM/SIGINT starts a graceful shutdown; a second one exits at once with 130 (the
 * operator asked twice). Returns the function that removes the handlers.
 */
export function installSignalHandlers(options: SignalOptions): () => void {
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received !== undefined) {
      options.logger.warn("second signal: exiting without waiting for shutdown", { signal, first: received });
      options.exitNow(130);
      return;
    }
    received = signal;
    options.logger.info("shutting down", { signal });
    options.shutdown(signal);
  };
  for (const signal of handled) process.on(signal, onSignal);
  return () => {
    for (const signal of handled) process.off(signal, onSignal);
  };
}
