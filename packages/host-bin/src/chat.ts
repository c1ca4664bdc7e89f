import { type DispatchClient, isFinalEvent } from "@dispatch/client";
import type { ClientCommand } from "./client-cli.ts";
import { type ClientIo, clientExit } from "./client-commands.ts";
import { renderEvent } from "./event-line.ts";

/** The turn being streamed, so Ctrl-C knows what to cancel. */
interface ActiveTurn {
  turnId: string;
  cancelling: boolean;
}

/**
 * `dispatch chat WORKSPACE`: a conversation at the terminal. Each line typed is a message; the answer
 * streams as it comes, tool calls one bracketed line each. Ctrl-C during a turn cancels it; a second
 * Ctrl-C, or one at the prompt, exits (130); Ctrl-D at the prompt exits (0).
 */
export async function runChat(
  client: DispatchClient,
  io: ClientIo,
  cli: Extract<ClientCommand, { command: "chat" }>,
): Promise<number> {
  await client.workspaces.get(cli.workspaceId);
  const conversation =
    cli.conversationId === undefined
      ? await client.conversations.create(cli.workspaceId, { title: "dispatch chat" })
      : await client.conversations.get(cli.conversationId);
  io.stdout(
    `conversation ${conversation.id} in ${cli.workspaceId} (${conversation.provider}/${conversation.model}); Ctrl-C cancels a turn, Ctrl-D exits\n`,
  );

  let active: ActiveTurn | undefined;
  let quit: (() => void) | undefined;
  const quitting = new Promise<"quit">((resolve) => {
    quit = () => resolve("quit");
  });
  let interrupted = false;
  const stream = new AbortController();
  const off = io.onInterrupt(() => {
    if (active !== undefined && !active.cancelling) {
      active.cancelling = true;
      io.stdout("\n[cancelling; Ctrl-C again to exit]\n");
      client.conversations.cancel(conversation.id).catch((error: unknown) => {
        io.stderr(`dispatch: could not cancel: ${error instanceof Error ? error.message : String(error)}\n`);
      });
      return;
    }
    interrupted = true;
    stream.abort();
    quit?.();
  });

  const lines = io.lines();
  let lastSeq = 0;
  try {
    for (;;) {
      io.stdout("> ");
      const next = await Promise.race([lines.next(), quitting]);
      if (next === "quit" || next.done === true) break;
      const text = next.value.trim();
      if (text === "") continue;
      const sent = await client.conversations.send(conversation.id, text).catch((error: unknown) => {
        io.stderr(`dispatch: ${error instanceof Error ? error.message : String(error)}\n`);
        return undefined;
      });
      if (sent === undefined || !("turnId" in sent)) continue;
      active = { turnId: sent.turnId, cancelling: false };
      let midLine = false;
      for await (const event of client.conversations.events(conversation.id, {
        after: lastSeq,
        signal: stream.signal,
      })) {
        lastSeq = event.seq;
        if (event.turnId !== active.turnId) continue;
        const shown = renderEvent(event);
        if (shown !== undefined && "text" in shown) {
          io.stdout(shown.text);
          midLine = !shown.text.endsWith("\n");
        } else if (shown !== undefined) {
          io.stdout(`${midLine ? "\n" : ""}${shown.line}\n`);
          midLine = false;
        }
        if (isFinalEvent(event)) break;
      }
      active = undefined;
      if (interrupted) break;
    }
  } finally {
    off();
    await lines.return?.();
  }
  io.stdout("\n");
  return interrupted ? clientExit.interrupted : clientExit.ok;
}
