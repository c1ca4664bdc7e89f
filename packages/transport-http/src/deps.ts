import type { ConversationStore } from "@dispatch/conversation-store";
import type { HostInfo, Logger, Registry } from "@dispatch/kernel";
import type { MemoryTelemetry } from "@dispatch/mem-telemetry";
import type { ConcurrencyManager } from "@dispatch/provider-concurrency";
import type { ProvidersService } from "@dispatch/providers";
import type { Orchestrator } from "@dispatch/session-orchestrator";
import type { ExecutionBackends } from "@dispatch/workspace-tools";
import type { ServerConfig } from "./config.ts";

/** Everything the routes need, resolved once at activation. */
export interface ApiDeps {
  host: HostInfo;
  logger: Logger;
  metrics: Registry;
  config: ServerConfig;
  store: ConversationStore;
  orchestrator: Orchestrator;
  providers: ProvidersService;
  concurrency: ConcurrencyManager;
  /** Present when workspace-tools is active; used to refuse workspaces on unknown hosts. */
  backends: ExecutionBackends | undefined;
  /** Present when mem-telemetry is active; `GET /telemetry/memory` answers 404 without it. */
  memory: MemoryTelemetry | undefined;
  /** Ends a request's connection once it has been idle `seconds` (a no-op until the server listens). */
  closeWhenIdle(request: Request, seconds: number): void;
}
