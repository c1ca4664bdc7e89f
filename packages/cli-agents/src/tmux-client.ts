import { captureCommands, chain, type PaneCapture, parseCaptures } from "./pane-capture.ts";
import { check, isNoServer, type TmuxResult, type TmuxTransport } from "./tmux-transport.ts";

/** How a new agent process starts. */
export interface SpawnSpec {
  cwd: string;
  command: readonly string[];
  env: Readonly<Record<string, string>>;
}

/** One session on the socket as `list-sessions` shows it, with the options Dispatch stored on it. */
export interface ListedSession {
  name: string;
  options: Record<string, string>;
}

/** One pane's liveness, as the health tick reads it. */
export interface PaneStatus {
  dead: boolean;
  /** Exit status of a dead pane's process, when it exited. */
  exitStatus: number | null;
  /** Signal number that ended it, when it was killed. */
  signal: number | null;
  pid: number | null;
}

/** The session options Dispatch keeps in tmux, so they survive a restart of the host. */
export const sessionOptionNames = ["conversation", "workspace", "agent", "turn", "next"] as const;
/** One of `sessionOptionNames`. */
export type SessionOptionName = (typeof sessionOptionNames)[number];

const optionPrefix = "@dispatch-";
/** History kept per pane; the runner clears it once a long session's lines have all been reported. */
export const historyLimit = 50_000;

/** A session target that matches the name exactly (tmux otherwise accepts a prefix). */
const sessionTarget = (name: string) => `=${name}`;
/** The active pane of a session. */
const paneTarget = (name: string) => `=${name}:`;

/** Typed tmux commands over one transport (one tmux server). */
export class TmuxClient {
  readonly transport: TmuxTransport;

  constructor(transport: TmuxTransport) {
    this.transport = transport;
  }

  /** `tmux 3.3a`, or a DispatchError saying why tmux cannot run. */
  async version(): Promise<string> {
    return check(await this.transport.run(["-V"]), "report its version").stdout.trim();
  }

  /**
   * Creates a detached session running `spec.command` in `spec.cwd`, with the server's options
   * (dead panes stay so their exit can be read, no status line, a long history) set first in the
   * same call, and Dispatch's options stored on the session. Returns the agent's pid.
   */
  async newSession(
    name: string,
    spec: SpawnSpec,
    size: { cols: number; rows: number },
    options: Partial<Record<SessionOptionName, string>>,
  ): Promise<number | null> {
    const run = () =>
      this.transport.run(
        chain([
          ["start-server"],
          ["set-option", "-g", "remain-on-exit", "on"],
          ["set-option", "-g", "status", "off"],
          ["set-option", "-g", "history-limit", String(historyLimit)],
          [
            "new-session",
            "-d",
            "-P",
            "-F",
            "#{pane_pid}",
            "-s",
            name,
            "-x",
            String(size.cols),
            "-y",
            String(size.rows),
            "-c",
            spec.cwd,
            ...envArgs(spec.env),
            "--",
            ...spec.command,
          ],
          ...optionCommands(name, options),
        ]),
      );
    let result = await run();
    // A server whose last session was just killed is still exiting: a client that reached its socket
    // then hears "server exited unexpectedly" or the like (`isNoServer`; seen in 1 of 5 runs of the
    // tmux client test on this box, tmux 3.3a). The next try starts a new server.
    for (let retry = 1; retry <= 3 && isNoServer(result); retry += 1) {
      await Bun.sleep(20 * retry);
      result = await run();
    }
    check(result, `start session ${name}`);
    return pidOf(result.stdout);
  }

  /** Stores Dispatch's options on a session. */
  async setOptions(name: string, options: Partial<Record<SessionOptionName, string>>): Promise<void> {
    const commands = optionCommands(name, options);
    if (commands.length > 0) check(await this.transport.run(chain(commands)), `set options of ${name}`);
  }

  /** Replaces the pane's process with a fresh one (killing it if it still runs) and clears its history. */
  async respawn(name: string, spec: SpawnSpec): Promise<number | null> {
    const result = await this.transport.run(
      chain([
        [
          "respawn-pane",
          "-k",
          "-t",
          paneTarget(name),
          "-c",
          spec.cwd,
          ...envArgs(spec.env),
          "--",
          ...spec.command,
        ],
        ["clear-history", "-t", paneTarget(name)],
        ["display-message", "-p", "-t", paneTarget(name), "#{pane_pid}"],
        ...optionCommands(name, { next: "0" }),
      ]),
    );
    check(result, `respawn the agent in ${name}`);
    return pidOf(result.stdout);
  }

  /**
   * Pastes `text` through a named buffer (so multi-line text arrives as one paste, bracketed when
   * the application asked for it), then sends `submitKeys`, in one call. Runs `after` in it too.
   */
  async paste(
    name: string,
    text: string,
    submitKeys: readonly string[],
    after: readonly (readonly string[])[] = [],
  ): Promise<void> {
    const buffer = `${name}-input`;
    const commands: string[][] = [];
    if (text.length > 0) {
      commands.push(["load-buffer", "-b", buffer, "-"]);
      commands.push(["paste-buffer", "-p", "-d", "-b", buffer, "-t", paneTarget(name)]);
    }
    if (submitKeys.length > 0) commands.push(["send-keys", "-t", paneTarget(name), ...submitKeys]);
    commands.push(...after.map((command) => [...command]));
    if (commands.length === 0) return;
    check(
      await this.transport.run(chain(commands), text.length > 0 ? text : undefined),
      `send input to ${name}`,
    );
  }

  /** Sends tmux key names (`C-c`, `Enter`, `y`) to the session's pane. */
  async sendKeys(name: string, keys: readonly string[]): Promise<void> {
    check(await this.transport.run(["send-keys", "-t", paneTarget(name), ...keys]), `send keys to ${name}`);
  }

  /** Kills a session; one that is already gone is not an error. */
  async kill(name: string): Promise<void> {
    const result = await this.transport.run(["kill-session", "-t", sessionTarget(name)]);
    // tmux words "already gone" several ways (no server, can't find session, no current target)
    if (result.code !== 0 && (await this.has(name))) check(result, `kill session ${name}`);
  }

  /** True when the session exists. */
  async has(name: string): Promise<boolean> {
    const result = await this.transport.run(["has-session", "-t", sessionTarget(name)]);
    return result.code === 0;
  }

  /** Every session on the socket with Dispatch's options; none when no server runs. */
  async listSessions(): Promise<ListedSession[]> {
    const format = ["#{session_name}", ...sessionOptionNames.map((o) => `#{${optionPrefix}${o}}`)].join("\t");
    const result = await this.transport.run(["list-sessions", "-F", format]);
    if (isNoServer(result)) return [];
    check(result, "list sessions");
    return lines(result.stdout).map((line) => {
      const [name = "", ...values] = line.split("\t");
      const options: Record<string, string> = {};
      for (const [i, option] of sessionOptionNames.entries()) {
        const value = values[i];
        if (value !== undefined && value !== "") options[option] = value;
      }
      return { name, options };
    });
  }

  /**
   * The first pane of every session, by session name; empty when no server runs. tmux 3.3 can mark a
   * pane dead (its terminal closed) and miss the SIGCHLD of its process, leaving a zombie and no exit
   * status until another of its children exits; for such a pane a `run-shell true` gives tmux that
   * child, and the panes are read once more.
   */
  async listPanes(): Promise<Map<string, PaneStatus>> {
    const panes = await this.#listPanes();
    const unreaped = [...panes.values()].some((p) => p.dead && p.exitStatus === null && p.signal === null);
    if (!unreaped) return panes;
    check(await this.transport.run(["run-shell", "true"]), "reap an exited pane");
    return this.#listPanes();
  }

  async #listPanes(): Promise<Map<string, PaneStatus>> {
    const format = "#{session_name}\t#{pane_dead}\t#{pane_dead_status}\t#{pane_dead_signal}\t#{pane_pid}";
    const result = await this.transport.run(["list-panes", "-a", "-F", format]);
    const panes = new Map<string, PaneStatus>();
    if (isNoServer(result)) return panes;
    check(result, "list panes");
    for (const line of lines(result.stdout)) {
      const [name = "", dead, status, signal, pid] = line.split("\t");
      if (panes.has(name)) continue;
      panes.set(name, {
        dead: dead === "1",
        exitStatus: numberOrNull(status),
        signal: numberOrNull(signal),
        pid: numberOrNull(pid),
      });
    }
    return panes;
  }

  /**
   * Captures many panes in one client call (`history(name)` extra history lines each), with
   * `extra(name)` commands after each pane's capture. A pane that is gone stops tmux at its command;
   * the panes before it are returned, and the one that failed is named so the caller can go on
   * after it.
   */
  async captureMany(
    names: readonly string[],
    history: (name: string) => number = () => 0,
    extra: (name: string) => readonly (readonly string[])[] = () => [],
  ): Promise<{ captures: PaneCapture[]; failed: string | undefined; result: TmuxResult }> {
    const commands: string[][] = [];
    for (const name of names)
      commands.push(captureCommands(name, history(name)), ...extra(name).map((c) => [...c]));
    const result = await this.transport.run(chain(commands));
    const captures = parseCaptures(result.stdout, history);
    const failed = result.code === 0 ? undefined : names[captures.length];
    return { captures, failed, result };
  }

  /** Runs tmux commands in one call (for example `clear-history` and an option together). */
  async run(commands: readonly (readonly string[])[], what: string): Promise<void> {
    check(await this.transport.run(chain(commands)), what);
  }
}

/** `set-option` commands storing Dispatch's options on a session. */
export function optionCommands(
  name: string,
  options: Partial<Record<SessionOptionName, string>>,
): string[][] {
  return Object.entries(options).map(([option, value]) => [
    "set-option",
    "-t",
    // set-option's target is a pane: `=name` alone is refused ("no such session")
    paneTarget(name),
    `${optionPrefix}${option}`,
    value ?? "",
  ]);
}

/** `clear-history` of a session's pane. */
export function clearHistoryCommand(name: string): string[] {
  return ["clear-history", "-t", paneTarget(name)];
}

function envArgs(env: Readonly<Record<string, string>>): string[] {
  return Object.entries(env).flatMap(([key, value]) => ["-e", `${key}=${value}`]);
}

function pidOf(stdout: string): number | null {
  return numberOrNull(lines(stdout).at(-1));
}

function numberOrNull(value: string | undefined): number | null {
  if (value === undefined || value === "") return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line.length > 0);
}
