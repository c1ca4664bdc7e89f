import type { ToolDefinition } from "@dispatch/session-orchestrator";
import type { ToolDeps } from "./tool-kit.ts";
import { bashTool } from "./tools/bash.ts";
import { editFileTool } from "./tools/edit-file.ts";
import { grepTool } from "./tools/grep.ts";
import { listDirTool } from "./tools/list-dir.ts";
import { readFileTool } from "./tools/read-file.ts";
import { writeFileTool } from "./tools/write-file.ts";

/** The six workspace tools, ready to register. */
export interface WorkspaceTools {
  readFile: ReturnType<typeof readFileTool>;
  writeFile: ReturnType<typeof writeFileTool>;
  editFile: ReturnType<typeof editFileTool>;
  listDir: ReturnType<typeof listDirTool>;
  grep: ReturnType<typeof grepTool>;
  bash: ReturnType<typeof bashTool>;
}

/** Builds every workspace tool over the same backends, lock table and config. */
export function createWorkspaceTools(deps: ToolDeps): WorkspaceTools {
  return {
    readFile: readFileTool(deps),
    writeFile: writeFileTool(deps),
    editFile: editFileTool(deps),
    listDir: listDirTool(deps),
    grep: grepTool(deps),
    bash: bashTool(deps),
  };
}

/** The tools as a list, for registering. */
export function toolList(tools: WorkspaceTools): ToolDefinition[] {
  return [tools.readFile, tools.writeFile, tools.editFile, tools.listDir, tools.grep, tools.bash];
}
