import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { release } from "node:os";
import { join } from "node:path";
import type { Workspace } from "@dispatch/wire";

/** Largest AGENTS.md taken into the prompt; a bigger file is cut and the cut is stated. */
export const maxAgentsFileBytes = 64 * 1024;

/** What the default template needs. */
export interface SystemPromptInput {
  workspace: Workspace;
  tools: ReadonlyArray<{ name: string; description: string }>;
  /** The workspace's AGENTS.md, if it has one. */
  agentsFile?: string;
  /** `defaults.systemPrompt` from config. */
  extra?: string;
  platform?: string;
  osRelease?: string;
}

/** Builds the system prompt: the default template, then AGENTS.md, then the configured prompt. */
export function buildSystemPrompt(input: SystemPromptInput): string {
  const { workspace, tools } = input;
  const where = workspace.hostId === null ? "this machine" : `the remote host "${workspace.hostId}"`;
  const os = `${input.platform ?? process.platform} ${input.osRelease ?? release()}`;
  const toolLines =
    tools.length === 0
      ? ["(no tools are available in this conversation)"]
      : tools.map((tool) => `- ${tool.name}: ${tool.description}`);
  const sections = [
    [
      "You are a coding agent working in a Dispatch workspace.",
      `Workspace: ${workspace.name} (id "${workspace.id}"), root directory ${workspace.root} on ${where}.`,
      `Host OS: ${os}.`,
      "Paths you pass to tools are relative to the workspace root. Use the tools to inspect and change files;",
      "say plainly what you did and what is left.",
      "",
      "Tools:",
      ...toolLines,
    ].join("\n"),
  ];
  if (input.agentsFile !== undefined && input.agentsFile.trim() !== "") {
    sections.push(`Instructions from the workspace's AGENTS.md:\n\n${input.agentsFile.trim()}`);
  }
  if (input.extra !== undefined && input.extra.trim() !== "") sections.push(input.extra.trim());
  return sections.join("\n\n");
}

/** What was read of one AGENTS.md, and the file it was read from. */
interface AgentsFileEntry {
  /** Inode, size and modification time: a change to any of them means the file must be read again. */
  stamp: string;
  text: string;
}

/** AGENTS.md files read so far, by path; the oldest is dropped past `maxCachedAgentsFiles`. */
const agentsFiles = new Map<string, AgentsFileEntry>();
const maxCachedAgentsFiles = 1000;

/**
 * Reads `<root>/AGENTS.md` of a local workspace, or undefined when there is none. Remote workspaces
 * (`hostId` set) are skipped: fetching the file over SSH on every turn belongs to workspace-tools.
 * Every turn asks; a `stat` that cannot throw answers most of them (a missing file cost an
 * exception, ~20 µs, on every turn), and the text is read again only when the file changed.
 */
export async function readAgentsFile(workspace: Workspace): Promise<string | undefined> {
  if (workspace.hostId !== null) return undefined;
  const path = join(workspace.root, "AGENTS.md");
  let stamp: string;
  try {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat === undefined || !stat.isFile()) {
      agentsFiles.delete(path);
      return undefined;
    }
    stamp = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    // Unreadable (a permission error on the way): the workspace simply has no instructions.
    return undefined;
  }
  const cached = agentsFiles.get(path);
  if (cached !== undefined && cached.stamp === stamp) return cached.text;
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    // Gone or unreadable since the stat: no instructions this turn.
    return undefined;
  }
  const text =
    bytes.byteLength <= maxAgentsFileBytes
      ? bytes.toString("utf8")
      : `${bytes.subarray(0, maxAgentsFileBytes).toString("utf8")}\n[AGENTS.md truncated: ${bytes.byteLength - maxAgentsFileBytes} more bytes not shown]`;
  agentsFiles.delete(path);
  if (agentsFiles.size >= maxCachedAgentsFiles) agentsFiles.delete(agentsFiles.keys().next().value as string);
  agentsFiles.set(path, { stamp, text });
  return text;
}
