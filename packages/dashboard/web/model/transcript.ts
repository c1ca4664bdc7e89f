/**
 * A conversation's transcript built from its event log (`GET /conversations/:id/events`) and its user
 * messages. Pure: no DOM, no network, so it is tested under `bun test`. Events are applied by `seq`:
 * one already seen is ignored, which is what lets the page reconnect (or replay from 0) without
 * showing anything twice.
 */

/** The part of a conversation event the transcript reads. */
export interface TranscriptEvent {
  seq: number;
  type: string;
  turnId: string | null;
  data: Record<string, unknown>;
}

/** The part of a stored message the transcript reads. */
export interface TranscriptMessage {
  role: string;
  turnId: string | null;
  parts: ReadonlyArray<{ type: string; text?: string }>;
}

/** One piece of what the agent did in a turn, in order. */
export type TurnItem =
  | { kind: "text"; text: string }
  | {
      kind: "tool";
      toolCallId: string;
      toolName: string;
      input: string;
      /** Absent until its result arrives. */
      output?: string;
      isError?: boolean;
      truncated?: boolean;
      /** The model's call could not be parsed. */
      invalid?: string;
    }
  /** Something that happened to the turn's CLI agent (started, crashed, respawned). */
  | { kind: "note"; text: string };

/** Where a turn stands: `waiting` for a provider slot or retry, `running`, or a final status. */
export type TurnState = "waiting" | "running" | "completed" | "failed" | "cancelled" | "interrupted";

/** One turn: what the user wrote and what came of it. */
export interface TranscriptTurn {
  turnId: string;
  userText: string | null;
  state: TurnState;
  items: TurnItem[];
  /** Why it waits, or why it failed or stopped. */
  note: string | null;
}

const finalStates: Record<string, TurnState> = {
  "turn.completed": "completed",
  "turn.failed": "failed",
  "turn.cancelled": "cancelled",
  "turn.interrupted": "interrupted",
};

const text = (value: unknown): string => (typeof value === "string" ? value : JSON.stringify(value, null, 2));

/** The transcript of one conversation; `version` moves on every change (for re-rendering). */
export class Transcript {
  readonly turns: TranscriptTurn[] = [];
  /** The last event applied; resume the event stream after it. */
  lastSeq = 0;
  /** A CLI agent's screen as last seen (`screen.updated`, or the one a crash or re-attach showed). */
  screen: string | null = null;
  version = 0;
  readonly #byId = new Map<string, TranscriptTurn>();
  readonly #userTexts = new Map<string, string>();

  /** True once a turn exists whose user text is not known yet (read the messages again). */
  get missingUserText(): boolean {
    return this.turns.some((t) => t.userText === null);
  }

  /** The turn still going, if any. */
  get activeTurn(): TranscriptTurn | undefined {
    const last = this.turns.at(-1);
    return last !== undefined && (last.state === "waiting" || last.state === "running") ? last : undefined;
  }

  /** Takes the user's text of each turn from the stored messages. */
  setMessages(messages: readonly TranscriptMessage[]): void {
    for (const message of messages) {
      if (message.role !== "user" || message.turnId === null) continue;
      const words = message.parts
        .flatMap((p) => (p.type === "text" && p.text !== undefined ? [p.text] : []))
        .join("");
      this.#userTexts.set(message.turnId, words);
      const turn = this.#byId.get(message.turnId);
      if (turn !== undefined && turn.userText === null) {
        turn.userText = words;
        this.version++;
      }
    }
  }

  /** Applies one event; false (and nothing changes) for one at or before `lastSeq`. */
  apply(event: TranscriptEvent): boolean {
    if (event.seq <= this.lastSeq) return false;
    this.lastSeq = event.seq;
    this.version++;
    const turn = event.turnId === null ? undefined : this.#turn(event.turnId);
    if (turn === undefined) return true;
    const data = event.data;
    switch (event.type) {
      case "turn.started":
      case "step.started":
        turn.state = "running";
        turn.note = null;
        break;
      case "turn.waiting":
        turn.state = "waiting";
        turn.note =
          data.reason === "retry"
            ? `provider busy; retrying${typeof data.retryInMs === "number" ? ` in ${Math.ceil(data.retryInMs / 1000)} s` : ""}`
            : "waiting for a provider slot";
        break;
      case "text.delta": {
        const last = turn.items.at(-1);
        const piece = typeof data.text === "string" ? data.text : "";
        if (last?.kind === "text") last.text += piece;
        else turn.items.push({ kind: "text", text: piece });
        break;
      }
      case "tool.call":
        turn.items.push({
          kind: "tool",
          toolCallId: String(data.toolCallId ?? ""),
          toolName: String(data.toolName ?? "tool"),
          input: text(data.input),
          ...(typeof data.error === "string" ? { invalid: data.error } : {}),
        });
        break;
      case "tool.result": {
        const call = turn.items.find((i) => i.kind === "tool" && i.toolCallId === data.toolCallId);
        if (call?.kind === "tool") {
          call.output = text(data.output);
          call.isError = data.isError === true;
          call.truncated = data.truncated === true;
        }
        break;
      }
      case "screen.updated":
      case "agent.reattached":
        if (typeof data.screen === "string") this.screen = data.screen;
        break;
      case "agent.started":
        turn.items.push({ kind: "note", text: `CLI agent ${String(data.agentId ?? "")} started` });
        break;
      case "agent.crashed":
        if (typeof data.screen === "string") this.screen = data.screen;
        turn.items.push({
          kind: "note",
          text: `CLI agent crashed (${String(data.reason ?? "unknown")}), attempt ${String(data.attempt ?? "?")} of ${String(data.maxAttempts ?? "?")}`,
        });
        break;
      case "agent.respawned":
        turn.items.push({ kind: "note", text: "CLI agent respawned" });
        break;
      default: {
        const final = finalStates[event.type];
        if (final !== undefined) {
          turn.state = final;
          turn.note =
            typeof data.error === "string"
              ? data.error
              : typeof data.reason === "string"
                ? data.reason
                : null;
        }
      }
    }
    return true;
  }

  #turn(turnId: string): TranscriptTurn {
    let turn = this.#byId.get(turnId);
    if (turn === undefined) {
      turn = {
        turnId,
        userText: this.#userTexts.get(turnId) ?? null,
        state: "running",
        items: [],
        note: null,
      };
      this.#byId.set(turnId, turn);
      this.turns.push(turn);
    }
    return turn;
  }
}
