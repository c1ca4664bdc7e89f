import { parseArgs } from "node:util";
import { UsageError } from "./cli-errors.ts";

/** A command that talks to a running host through @dispatch/client. */
export type ClientCommand =
  | { command: "ws"; action: "list"; global: GlobalClientFlags }
  | {
      command: "ws";
      action: "create";
      id: string;
      name?: string;
      root?: string;
      hostId?: string;
      global: GlobalClientFlags;
    }
  | { command: "ws"; action: "star" | "unstar"; id: string; global: GlobalClientFlags }
  | { command: "chat"; workspaceId: string; conversationId?: string; global: GlobalClientFlags }
  | { command: "tail"; conversationId: string; after: number; global: GlobalClientFlags }
  | {
      command: "tasks";
      action: "add";
      workspaceId: string;
      spec: string;
      title?: string;
      priority?: number;
      global: GlobalClientFlags;
    }
  | { command: "tasks"; action: "list"; status?: string; workspaceId?: string; global: GlobalClientFlags }
  | { command: "tasks"; action: "cancel"; id: string; global: GlobalClientFlags };

/** Flags every client command takes. */
export interface GlobalClientFlags {
  /** `--url`, else `$DISPATCH_URL`, else the default address. */
  url?: string;
  /** `--json`: print the API's JSON instead of text. */
  json: boolean;
}

/** The first words of the client commands. */
export const clientCommands = new Set(["ws", "chat", "tail", "tasks"]);

const actions: Record<string, string[]> = {
  ws: ["list", "create", "star", "unstar"],
  tasks: ["add", "list", "cancel"],
};

/** Parses a client command line (`ws list --json`, `chat demo`, …); throws UsageError. */
export function parseClientCommand(argv: readonly string[]): ClientCommand {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const [command = "", ...rest] = positionals;
  const global: GlobalClientFlags = {
    json: values.json === true,
    ...(values.url ? { url: values.url } : {}),
  };
  const allowed = new Set(["url", "json"]);
  const take = (...names: string[]) => {
    for (const name of names) allowed.add(name);
  };
  const positional = (index: number, what: string, usage: string): string => {
    const value = rest[index];
    if (value === undefined) throw new UsageError(`"${usage}" needs ${what}`);
    return value;
  };
  let result: ClientCommand;
  let maxPositionals = 1;
  if (command === "chat") {
    take("conversation");
    result = {
      command,
      workspaceId: positional(0, "a workspace id", "dispatch chat WORKSPACE"),
      ...(values.conversation ? { conversationId: values.conversation } : {}),
      global,
    };
  } else if (command === "tail") {
    take("after");
    const after = values.after === undefined ? 0 : Number(values.after);
    if (!Number.isInteger(after) || after < 0) {
      throw new UsageError(`Expected \`--after\` to be an integer >= 0, got \`${values.after}\``);
    }
    result = {
      command,
      conversationId: positional(0, "a conversation id", "dispatch tail CONVERSATION"),
      after,
      global,
    };
  } else {
    const action = rest[0];
    if (action === undefined || !actions[command]?.includes(action)) {
      throw new UsageError(
        `"dispatch ${command}" takes one of: ${actions[command]?.join(", ")}${action === undefined ? "" : ` (got "${action}")`}`,
      );
    }
    maxPositionals = 2;
    const usage = `dispatch ${command} ${action}`;
    if (command === "ws") {
      if (action === "list") {
        maxPositionals = 1;
        result = { command, action, global };
      } else if (action === "create") {
        take("name", "root", "host");
        result = {
          command,
          action,
          id: positional(1, "an id", `${usage} ID`),
          ...(values.name ? { name: values.name } : {}),
          ...(values.root ? { root: values.root } : {}),
          ...(values.host ? { hostId: values.host } : {}),
          global,
        };
      } else {
        result = {
          command,
          action: action as "star" | "unstar",
          id: positional(1, "an id", `${usage} ID`),
          global,
        };
      }
    } else if (command !== "tasks") {
      throw new UsageError(`unknown command "${command}"`);
    } else if (action === "add") {
      take("title", "priority");
      const priority = values.priority === undefined ? undefined : Number(values.priority);
      if (priority !== undefined && !Number.isInteger(priority)) {
        throw new UsageError(`Expected \`--priority\` to be an integer, got \`${values.priority}\``);
      }
      maxPositionals = Number.POSITIVE_INFINITY;
      const workspaceId = positional(1, "a workspace and a spec", `${usage} WORKSPACE SPEC...`);
      const spec = rest.slice(2).join(" ");
      if (spec === "") throw new UsageError(`"${usage} WORKSPACE SPEC..." needs a spec`);
      result = {
        command,
        action,
        workspaceId,
        spec,
        ...(values.title ? { title: values.title } : {}),
        ...(priority === undefined ? {} : { priority }),
        global,
      };
    } else if (action === "list") {
      take("status", "workspace");
      maxPositionals = 1;
      result = {
        command,
        action,
        ...(values.status ? { status: values.status } : {}),
        ...(values.workspace ? { workspaceId: values.workspace } : {}),
        global,
      };
    } else {
      result = { command, action: "cancel", id: positional(1, "a task id", `${usage} ID`), global };
    }
  }
  if (rest.length > maxPositionals) throw new UsageError(`unexpected argument "${rest[maxPositionals]}"`);
  for (const name of Object.keys(values)) {
    if (!allowed.has(name)) throw new UsageError(`--${name} is not accepted by "dispatch ${command}"`);
  }
  return result;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: "string" },
      json: { type: "boolean" },
      conversation: { type: "string" },
      after: { type: "string" },
      name: { type: "string" },
      root: { type: "string" },
      host: { type: "string" },
      title: { type: "string" },
      priority: { type: "string" },
      status: { type: "string" },
      workspace: { type: "string" },
    },
  });
}
