import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { activityExtension } from "@dispatch/activity";
import { cliAgentsExtension } from "@dispatch/cli-agents";
import { clusterExtension } from "@dispatch/cluster";
import { conversationStoreExtension } from "@dispatch/conversation-store";
import { dashboardExtension } from "@dispatch/dashboard";
import { gitWorkflowsExtension } from "@dispatch/git-workflows";
import type { AnyExtension, ConfigIssue, Host } from "@dispatch/kernel";
import { memTelemetryExtension } from "@dispatch/mem-telemetry";
import { providerConcurrencyExtension } from "@dispatch/provider-concurrency";
import { providersExtension } from "@dispatch/providers";
import { orchestratorRef, sessionOrchestratorExtension } from "@dispatch/session-orchestrator";
import { sshPoolExtension } from "@dispatch/ssh-pool/extension";
import { tasksExtension } from "@dispatch/tasks";
import { toolApprovalsExtension } from "@dispatch/tool-approvals";
import { transportHttpExtension } from "@dispatch/transport-http";
import { usageExtension } from "@dispatch/usage";
import { workspaceToolsExtension } from "@dispatch/workspace-tools";
import { ConfigError } from "./config.ts";
import { installImportGuard } from "./import-guard.ts";

/** The extensions every Dispatch host installs; order here does not matter (the graph decides). */
export function builtinExtensions(): AnyExtension[] {
  return [
    activityExtension,
    cliAgentsExtension,
    clusterExtension,
    conversationStoreExtension,
    dashboardExtension,
    gitWorkflowsExtension,
    memTelemetryExtension,
    providerConcurrencyExtension,
    providersExtension,
    sessionOrchestratorExtension,
    sshPoolExtension,
    tasksExtension,
    toolApprovalsExtension,
    workspaceToolsExtension,
    transportHttpExtension,
    usageExtension,
  ];
}

/**
 * Imports third-party extensions listed in `extensions.paths`, resolved against `baseDir` (the config
 * file's directory). Each module must default-export a definition, or export it as `extension`.
 * Every bad path is reported at once, by its JSON path.
 */
export async function loadExtensionPaths(paths: readonly string[], baseDir: string): Promise<AnyExtension[]> {
  // before the first import, so a bad `@dispatch/*` import is reported with what to do about it
  if (paths.length > 0) installImportGuard();
  const loaded: AnyExtension[] = [];
  const issues: ConfigIssue[] = [];
  for (const [i, path] of paths.entries()) {
    const where = `extensions.paths[${i}]`;
    const file = resolve(baseDir, path);
    if (!existsSync(file)) {
      issues.push({ path: where, message: `${file} does not exist` });
      continue;
    }
    let module: Record<string, unknown>;
    try {
      module = await import(pathToFileURL(file).href);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      issues.push({ path: where, message: `${file} could not be imported: ${reason}` });
      continue;
    }
    const candidate = module.default ?? module.extension;
    if (!isDefinition(candidate)) {
      issues.push({
        path: where,
        message: `${file} must default-export an extension definition (or export it as \`extension\`)`,
      });
      continue;
    }
    loaded.push(candidate);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return loaded;
}

/** A structural check only: the manifest itself is validated by the kernel with everything else. */
function isDefinition(value: unknown): value is AnyExtension {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as { manifest?: unknown; activate?: unknown };
  return (
    typeof candidate.manifest === "object" &&
    candidate.manifest !== null &&
    typeof candidate.activate === "function"
  );
}

/** Turns in progress, for status.json; 0 while no orchestrator is installed or active. */
export function activeConversations(host: Host): number {
  return host.tryGet(orchestratorRef)?.getActiveConversationCount() ?? 0;
}
