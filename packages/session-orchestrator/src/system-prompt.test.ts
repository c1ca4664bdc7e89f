import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Workspace } from "@dispatch/wire";
import { buildSystemPrompt, maxAgentsFileBytes, readAgentsFile } from "./system-prompt.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function workspace(root: string, hostId: string | null = null): Workspace {
  const at = new Date(0).toISOString();
  return {
    id: "proj",
    name: "Project",
    root,
    hostId,
    starred: false,
    network: null,
    permissions: {},
    createdAt: at,
    updatedAt: at,
  };
}

describe("buildSystemPrompt", () => {
  test("template, then AGENTS.md, then the configured prompt, in that order", () => {
    const prompt = buildSystemPrompt({
      workspace: workspace("/srv/proj"),
      tools: [{ name: "read_file", description: "Reads a file." }],
      agentsFile: "Run bun test before committing.",
      extra: "Answer in English.",
      platform: "linux",
      osRelease: "6.1.0",
    });
    expect(prompt).toContain('Workspace: Project (id "proj"), root directory /srv/proj on this machine.');
    expect(prompt).toContain("Host OS: linux 6.1.0.");
    expect(prompt).toContain("- read_file: Reads a file.");
    const agents = prompt.indexOf("Run bun test before committing.");
    const extra = prompt.indexOf("Answer in English.");
    expect(agents).toBeGreaterThan(prompt.indexOf("read_file"));
    expect(extra).toBeGreaterThan(agents);
  });

  test("names the remote host and says when there are no tools", () => {
    const prompt = buildSystemPrompt({ workspace: workspace("/home/dev/p", "build-box"), tools: [] });
    expect(prompt).toContain('on the remote host "build-box"');
    expect(prompt).toContain("(no tools are available in this conversation)");
    expect(prompt).not.toContain("AGENTS.md");
  });
});

describe("readAgentsFile", () => {
  test("reads a local workspace's AGENTS.md, and undefined when there is none", async () => {
    const root = mkdtempSync(join(tmpdir(), "orch-agents-"));
    dirs.push(root);
    expect(await readAgentsFile(workspace(root))).toBeUndefined();
    writeFileSync(join(root, "AGENTS.md"), "Use tabs.");
    expect(await readAgentsFile(workspace(root))).toBe("Use tabs.");
  });

  test("skips remote workspaces even when a local file of that path exists", async () => {
    const root = mkdtempSync(join(tmpdir(), "orch-agents-"));
    dirs.push(root);
    writeFileSync(join(root, "AGENTS.md"), "local");
    expect(await readAgentsFile(workspace(root, "build-box"))).toBeUndefined();
  });

  test("cuts a huge file and says so; a directory named AGENTS.md counts as none", async () => {
    const root = mkdtempSync(join(tmpdir(), "orch-agents-"));
    dirs.push(root);
    writeFileSync(join(root, "AGENTS.md"), "x".repeat(maxAgentsFileBytes + 10));
    const text = await readAgentsFile(workspace(root));
    expect(text?.startsWith("x".repeat(100))).toBe(true);
    expect(text).toContain("[AGENTS.md truncated: 10 more bytes not shown]");
    const other = mkdtempSync(join(tmpdir(), "orch-agents-"));
    dirs.push(other);
    mkdirSync(join(other, "AGENTS.md"));
    expect(await readAgentsFile(workspace(other))).toBeUndefined();
  });

  test("an edited, replaced or removed AGENTS.md is seen at the next read", async () => {
    const root = mkdtempSync(join(tmpdir(), "orch-agents-"));
    dirs.push(root);
    const path = join(root, "AGENTS.md");
    writeFileSync(path, "Use tabs.");
    expect(await readAgentsFile(workspace(root))).toBe("Use tabs.");
    expect(await readAgentsFile(workspace(root))).toBe("Use tabs.");
    writeFileSync(path, "Use spaces, four of them.");
    expect(await readAgentsFile(workspace(root))).toBe("Use spaces, four of them.");
    rmSync(path);
    writeFileSync(`${path}.new`, "Use tabs again.");
    renameSync(`${path}.new`, path);
    expect(await readAgentsFile(workspace(root))).toBe("Use tabs again.");
    rmSync(path);
    expect(await readAgentsFile(workspace(root))).toBeUndefined();
  });
});
