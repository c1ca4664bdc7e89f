import { formatPath } from "@dispatch/kernel";
import { limits, type Message, MessagePart } from "@dispatch/wire";
import { z } from "zod";
import { checkText, checkUtf8Bytes, invalidFieldOf } from "./field-checks.ts";
import { invalidField, StoreError } from "./store-error.ts";

// What the repositories of both dialects check before they touch the database, in one place so that
// SQLite and Postgres refuse the same input with the same message.

/** `conversation_busy`, naming the active turn when it is known. */
export function conversationBusy(
  conversationId: string,
  activeTurnId: string | undefined,
  cause?: unknown,
): StoreError {
  return new StoreError("conversation_busy", `conversation "${conversationId}" already has an active turn`, {
    details: { conversationId, ...(activeTurnId === undefined ? {} : { activeTurnId }) },
    cause,
  });
}

/** A claim refused because follow-ups wait for the conversation (`refuseIfQueued`). */
export function followupsQueued(conversationId: string): StoreError {
  return new StoreError(
    "conversation_busy",
    `conversation "${conversationId}" has queued follow-ups; a new message waits behind them`,
    { details: { conversationId, queued: true } },
  );
}

/** A new conversation's fields, checked; the runner defaults to the built-in `model` loop. */
export function checkNewConversation(input: {
  title?: string | null;
  provider: string;
  model: string;
  runner?: string;
}): { title: string | null; provider: string; model: string; runner: string } {
  return {
    title:
      input.title === null || input.title === undefined
        ? null
        : checkText("title", input.title, { max: limits.conversationTitle }),
    provider: checkText("provider", input.provider, { min: 1, max: limits.modelName }),
    model: checkText("model", input.model, { min: 1, max: limits.modelName }),
    runner: checkText("runner", input.runner ?? "model", { min: 1, max: limits.runnerName }),
  };
}

/** A turn's prompt: non-empty text within `maxBytes`, and a finite start time (epoch ms). */
export function checkPrompt(input: { text: unknown; promptStartedAt: number }, maxBytes: number): void {
  if (typeof input.text !== "string") throw invalidField("text", "must be a string");
  if (input.text.length === 0) throw invalidField("text", "must not be empty");
  checkUtf8Bytes("text", input.text, maxBytes);
  if (!Number.isFinite(input.promptStartedAt)) {
    throw invalidFieldOf("promptStartedAt", input.promptStartedAt, "must be a finite number (epoch ms)");
  }
}

const Parts = z.array(MessagePart);
const Role = z.enum(["user", "assistant", "tool"]);

/** A message's role and parts, checked; its text parts together are held to `maxBytes`. */
export function checkMessage(
  input: { role: unknown; parts: unknown },
  maxBytes: number,
): { role: Message["role"]; parts: MessagePart[] } {
  const role = Role.safeParse(input.role);
  if (!role.success)
    throw invalidField("role", `must be one of user, assistant, tool, got ${String(input.role)}`);
  const parts = Parts.safeParse(input.parts);
  if (!parts.success) {
    const issue = parts.error.issues[0];
    const where = formatPath("parts", issue?.path ?? []);
    throw invalidField("parts", `is not a valid list of message parts (${where}: ${issue?.message})`);
  }
  const text = parts.data.map((part) => (part.type === "text" ? part.text : "")).join("");
  checkUtf8Bytes("parts", text, maxBytes);
  return { role: role.data, parts: parts.data };
}
