/** Severity of a log line. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A structured logger; `child` adds fields (such as `ext`) to every line. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** One rendered log record, as handed to a sink. */
export interface LogRecord {
  level: LogLevel;
  time: string;
  msg: string;
  [field: string]: unknown;
}

/** Where log records go. */
export type LogSink = (record: LogRecord) => void;

/** Options for `createLogger`. */
export interface LoggerOptions {
  level?: LogLevel;
  sink?: LogSink;
  bindings?: Record<string, unknown>;
}

/** Errors do not survive JSON.stringify; keep their name, message, code and stack. */
function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return {
      name: value.name,
      message: value.message,
      ...(code === undefined ? {} : { code }),
      stack: value.stack,
    };
  }
  return value;
}

/** Writes JSON lines, or a short human line when `pretty`. */
export function streamSink(write: (line: string) => void, pretty: boolean): LogSink {
  if (!pretty) return (record) => write(`${JSON.stringify(record)}\n`);
  return (record) => {
    const { level, time, msg, ext, ...rest } = record;
    const extra = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    const tag = typeof ext === "string" ? ` [${ext}]` : "";
    write(`${time.slice(11, 23)} ${level.toUpperCase().padEnd(5)}${tag} ${msg}${extra ? ` ${extra}` : ""}\n`);
  };
}

/** The default sink: JSON lines on stderr, pretty when stderr is a terminal. */
export function stderrSink(): LogSink {
  return streamSink((line) => process.stderr.write(line), Boolean(process.stderr.isTTY));
}

/** Parses a level name, falling back when it is unknown. */
export function parseLogLevel(value: string | undefined, fallback: LogLevel = "info"): LogLevel {
  return value !== undefined && value in levelRank ? (value as LogLevel) : fallback;
}

/** Creates a logger; lines below `level` are dropped before any work is done. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = levelRank[options.level ?? "info"];
  const sink = options.sink ?? stderrSink();
  const bindings = options.bindings ?? {};
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (levelRank[level] < min) return;
    const record: LogRecord = { level, time: new Date().toISOString(), ...bindings, msg };
    if (fields) for (const [k, v] of Object.entries(fields)) record[k] = serialise(v);
    sink(record);
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (more) => createLogger({ level: options.level, sink, bindings: { ...bindings, ...more } }),
  };
}

/** A logger that keeps records in memory, for tests. */
export function createMemoryLogger(level: LogLevel = "debug"): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  return { logger: createLogger({ level, sink: (r) => records.push(r) }), records };
}
