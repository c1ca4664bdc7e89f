import { z } from "zod";

/** Where a CLI agent's session is in its life (DESIGN §14). */
export const AgentState = z.enum(["starting", "idle", "busy", "respawning", "exited", "stopping"]);
export type AgentState = z.infer<typeof AgentState>;

/** What the health tick last found about a CLI agent; `unknown` until it looked (a re-attached session). */
export const AgentHealth = z.enum(["ok", "crashed", "exited", "unknown"]);
export type AgentHealth = z.infer<typeof AgentHealth>;

/** One CLI agent session (a conversation whose runner is `cli:<agentId>`). */
export const AgentInfo = z.object({
  conversationId: z.string(),
  workspaceId: z.string(),
  agentId: z.string(),
  state: AgentState,
  health: AgentHealth,
  /** Why `health` is not `ok` (an exit status, a crash pattern). */
  reason: z.string().optional(),
  /** Crashes in the running turn. */
  attempts: z.number().int().min(0),
  lastOutputAt: z.string().nullable().describe("ISO-8601 time of the last screen change"),
  hostId: z.string().nullable(),
});
export type AgentInfo = z.infer<typeof AgentInfo>;

/** `GET /agents`. */
export const AgentList = z.object({ agents: z.array(AgentInfo) });
export type AgentList = z.infer<typeof AgentList>;

/** A tmux key name: `Enter`, `C-c`, `M-x`, `F1`, `y`, `BSpace` (tmux sends an unknown name as its letters). */
const KeyName = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[\x21-\x7e]+$/, "must be a tmux key name such as Enter, C-c or y");

/** `POST /conversations/:id/input`: text pasted as it is (a newline is Enter), or tmux key names. */
export const AgentInputBody = z.union([
  z
    .object({
      text: z
        .string()
        .min(1)
        .max(1024 * 1024),
    })
    .strict(),
  z.object({ keys: z.array(KeyName).min(1).max(64) }).strict(),
]);
export type AgentInputBody = z.infer<typeof AgentInputBody>;

/** Answer to `POST /conversations/:id/input` (202). */
export const AgentInputResult = z.object({ conversationId: z.string(), sent: z.enum(["text", "keys"]) });
export type AgentInputResult = z.infer<typeof AgentInputResult>;
