import {
  createClient,
  DispatchApiError,
  type DispatchClient,
  type Task,
  type Workspace,
} from "@dispatch/client";
import { runChat } from "./chat.ts";
import type { ClientCommand } from "./client-cli.ts";
import { tailLine } from "./event-line.ts";

/** Exit statuses of the client commands (documented in `dispatch --help` and the README). */
export const clientExit = { ok: 0, apiError: 1, usage: 2, unreachable: 3, interrupted: 130 } as const;

/** Where a client command reads and writes: the process's streams and env in the binary, fakes in tests. */
export interface ClientIo {
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Fires on Ctrl-C (SIGINT); returns the unsubscribe. */
  onInterrupt(handler: () => void): () => void;
  /** Opens standard input as lines (only `chat` reads it, so nothing else consumes a piped stdin). */
  lines(): AsyncIterator<string>;
}

const defaultUrl = "http://127.0.0.1:7878";

function workspaceLine(ws: Workspace): string {
  return `${ws.starred ? "*" : " "} ${ws.id.padEnd(20)} ${ws.name.padEnd(24)} ${ws.hostId ? `${ws.hostId}:` : ""}${ws.root}`;
}

function taskLine(task: Task): string {
  return `${task.id}  ${task.status.padEnd(9)} ${task.workspaceId.padEnd(16)} ${task.title}`;
}

/** Runs a client command against the host; resolves to its exit status. */
export async function runClientCommand(cli: ClientCommand, io: ClientIo): Promise<number> {
  const client = createClient({
    baseUrl: cli.global.url ?? io.env.DISPATCH_URL ?? defaultUrl,
    ...(io.env.DISPATCH_TOKEN ? { token: io.env.DISPATCH_TOKEN } : {}),
  });
  const print = (json: unknown, text: () => string) =>
    io.stdout(cli.global.json ? `${JSON.stringify(json, null, 2)}\n` : text());
  try {
    return await run(cli, client, io, print);
  } catch (error) {
    if (!DispatchApiError.isInstance(error)) throw error;
    io.stderr(`dispatch: ${error.code}: ${error.message}\n`);
    return error.status === 0 ? clientExit.unreachable : clientExit.apiError;
  }
}

async function run(
  cli: ClientCommand,
  client: DispatchClient,
  io: ClientIo,
  print: (json: unknown, text: () => string) => void,
): Promise<number> {
  switch (cli.command) {
    case "ws": {
      if (cli.action === "list") {
        const list = await client.workspaces.list();
        print(list, () => list.workspaces.map((ws) => `${workspaceLine(ws)}\n`).join(""));
        return clientExit.ok;
      }
      const ws =
        cli.action === "create"
          ? await client.workspaces.create({
              id: cli.id,
              ...(cli.name ? { name: cli.name } : {}),
              ...(cli.root ? { root: cli.root } : {}),
              ...(cli.hostId ? { hostId: cli.hostId } : {}),
            })
          : await client.workspaces[cli.action](cli.id);
      print(ws, () => `${workspaceLine(ws)}\n`);
      return clientExit.ok;
    }
    case "tasks": {
      if (cli.action === "list") {
        const list = await client.tasks.list({
          ...(cli.status ? { status: cli.status as Task["status"] } : {}),
          ...(cli.workspaceId ? { workspaceId: cli.workspaceId } : {}),
        });
        print(list, () => list.tasks.map((t) => `${taskLine(t)}\n`).join(""));
        return clientExit.ok;
      }
      const task =
        cli.action === "add"
          ? await client.tasks.create({
              workspaceId: cli.workspaceId,
              spec: cli.spec,
              ...(cli.title ? { title: cli.title } : {}),
              ...(cli.priority === undefined ? {} : { priority: cli.priority }),
            })
          : await client.tasks.cancel(cli.id);
      print(task, () => `${taskLine(task)}\n`);
      return clientExit.ok;
    }
    case "tail":
      return tail(cli, client, io);
    case "chat":
      return runChat(client, io, cli);
  }
}

/** Follows a conversation's events until Ctrl-C; the client reconnects and resumes by itself. */
async function tail(
  cli: Extract<ClientCommand, { command: "tail" }>,
  client: DispatchClient,
  io: ClientIo,
): Promise<number> {
  await client.conversations.get(cli.conversationId); // a clear 404 before following
  const stop = new AbortController();
  const off = io.onInterrupt(() => stop.abort());
  try {
    for await (const event of client.conversations.events(cli.conversationId, {
      after: cli.after,
      signal: stop.signal,
      maxRetries: Number.POSITIVE_INFINITY,
      onReconnect: ({ reason, after }) => io.stderr(`[reconnecting after seq ${after}: ${reason}]\n`),
    })) {
      io.stdout(cli.global.json ? `${JSON.stringify(event)}\n` : `${tailLine(event)}\n`);
    }
  } finally {
    off();
  }
  return stop.signal.aborted ? clientExit.interrupted : clientExit.ok;
}
