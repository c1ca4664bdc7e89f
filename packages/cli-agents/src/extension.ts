import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { type ConversationStore, conversationStoreRef } from "@dispatch/conversation-store";
import { DispatchError, defineExtension, messageOf, perHost } from "@dispatch/kernel";
import { providersRef } from "@dispatch/providers";
import { turnRunnersPoint } from "@dispatch/session-orchestrator";
import { httpRoutesPoint } from "@dispatch/transport-http";
import { executionBackendsRef } from "@dispatch/workspace-tools";
import { registerAgentMetrics } from "./agent-metrics.ts";
import { createCliRunner } from "./cli-runner.ts";
import { type CliAgentsSettings, cliAgentsConfigSchema } from "./config.ts";
import { agentInputOperations, agentInputRoutes, agentListOperations, agentListRoutes } from "./routes.ts";
import { cliAgentsRef } from "./service.ts";
import { AgentSupervisor } from "./supervisor.ts";
import { TmuxClient } from "./tmux-client.ts";
import { localTmux, remoteTmux } from "./tmux-transport.ts";

/** What `register` and `activate` share on one host: the supervisor, once there is one. */
interface HostState {
  supervisor: AgentSupervisor | undefined;
  unavailable: string;
  store: ConversationStore | undefined;
}
const stateOf = perHost<HostState>(() => ({
  supervisor: undefined,
  unavailable: "the cli-agents extension is not active",
  store: undefined,
}));

/** The environment the tmux server (and so every agent) starts with: the host's, minus Dispatch's own settings. */
export function agentEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || key.startsWith("DISPATCH_") || key === "TMUX" || key === "TMUX_PANE") continue;
    out[key] = value;
  }
  // tmux draws non-ASCII as "_" without a UTF-8 locale
  out.LANG ??= "C.UTF-8";
  return out;
}

/**
 * The tmux socket name (`-L`) on remote hosts: one per Dispatch data dir, so two hosts sharing a
 * remote account do not share sessions, and never the user's default server.
 */
export function remoteSocketName(dataDir: string): string {
  return `dispatch-${Bun.hash(dataDir).toString(36).slice(0, 10)}`;
}

/** The tmux socket: configured, or `<dataDir>/tmux/dispatch.sock`. */
export function socketPathOf(settings: CliAgentsSettings, dataDir: string): string {
  return settings.socketPath ?? join(dataDir, "tmux", "dispatch.sock");
}

/**
 * CLI agents in tmux (DESIGN §14) as an extension: the `cli` turn runner, one capture tick and one
 * health tick for all sessions, re-attach at start-up, `GET /agents` and
 * `POST /conversations/:id/input`. Not critical: without tmux (or with a misconfigured agent) the
 * host serves everything else and `/health` says why.
 */
export const cliAgentsExtension = defineExtension({
  manifest: {
    id: "cli-agents",
    version: "0.1.0",
    dependsOn: ["conversation-store", "providers", "session-orchestrator"],
    optionalDependsOn: ["workspace-tools"],
    extends: ["session-orchestrator", "transport-http"],
  },
  provides: [cliAgentsRef],
  consumes: [conversationStoreRef, providersRef, executionBackendsRef],
  config: { key: "cliAgents", schema: cliAgentsConfigSchema },
  register(reg) {
    const state = stateOf(reg.host);
    const current = () => state.supervisor ?? { unavailable: state.unavailable };
    reg.contribute(turnRunnersPoint, createCliRunner(reg.config, current));
    reg.contribute(httpRoutesPoint, {
      path: "/agents",
      routes: () => agentListRoutes({ supervisor: current }),
      openapi: agentListOperations,
    });
    reg.contribute(httpRoutesPoint, {
      path: "/conversations",
      routes: () => {
        const { store } = state;
        if (store === undefined) throw new DispatchError("internal", "cli-agents did not activate");
        return agentInputRoutes({ supervisor: current, store });
      },
      openapi: agentInputOperations,
    });
  },
  async activate(ctx) {
    const settings = ctx.config;
    const state = stateOf(ctx.host);
    const store = ctx.use(conversationStoreRef);
    state.store = store;
    const providers = ctx.use(providersRef);
    for (const [i, agent] of settings.agents.entries()) {
      if (agent.provider !== undefined && providers.get(agent.provider) === undefined) {
        const known = providers
          .list()
          .map((p) => p.id)
          .join(", ");
        throw new DispatchError(
          "invalid_config",
          `cliAgents[${i}].provider: provider "${agent.provider}" is not configured (configured: ${known})`,
        );
      }
    }
    const socketPath = socketPathOf(settings, ctx.host.dataDir);
    mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });
    const local = new TmuxClient(localTmux({ program: settings.tmux, socketPath, env: agentEnvironment() }));
    let version: string | undefined;
    try {
      version = await local.version();
    } catch (error) {
      state.unavailable = `tmux is not available (${messageOf(error)}); install Debian's tmux (apt-get install tmux) and restart`;
      ctx.logger.warn("CLI agents are unavailable", { reason: state.unavailable });
    }
    const metrics = registerAgentMetrics(ctx.metrics, () => state.supervisor?.table);
    ctx.onDispose(() => metrics.unregister());
    const backends = ctx.useOptional(executionBackendsRef);
    const remotes = new Map<string, TmuxClient>();
    const remoteSocket = remoteSocketName(ctx.host.dataDir);
    const tmuxFor = (hostId: string | null): TmuxClient => {
      if (hostId === null) return local;
      const known = remotes.get(hostId);
      if (known !== undefined) return known;
      if (backends === undefined) {
        throw new DispatchError(
          "unavailable",
          `CLI agents in workspaces on host "${hostId}" need the workspace-tools and ssh-pool extensions, which are not active`,
        );
      }
      const client = new TmuxClient(
        remoteTmux({ hostId, backend: backends.forHost(hostId), socketName: remoteSocket }),
      );
      remotes.set(hostId, client);
      return client;
    };
    const supervisor = new AgentSupervisor({
      settings,
      tmuxFor,
      logger: ctx.logger,
      counters: metrics.counters,
      schedule: (fn, ms) => ctx.setInterval(fn, ms),
      onFault: (kind, error) => ctx.reportFault(kind, error),
    });
    if (version !== undefined) {
      // no socket yet: no server ever ran here, so there is nothing to re-attach (and no call to make)
      const { reattached, killed } = existsSync(socketPath)
        ? await supervisor.reattach(store)
        : { reattached: 0, killed: 0 };
      if (reattached + killed > 0)
        ctx.logger.info("agent sessions found at start-up", { reattached, killed });
      supervisor.start();
      state.supervisor = supervisor;
      // remote hosts are looked at once everything runs (their backends come from other extensions)
      ctx.onReady(async () => {
        if (backends === undefined || settings.agents.length === 0) return;
        const hosts = new Set(
          (await store.workspaces.list()).flatMap((w) => (w.hostId === null ? [] : [w.hostId])),
        );
        for (const hostId of hosts) supervisor.reattachLater(store, hostId);
      });
      ctx.onDispose(async () => {
        state.supervisor = undefined;
        state.unavailable = "the host is shutting down";
        await supervisor.dispose();
      });
    }
    ctx.bus.subscribe("workspace.deleted", ({ id }) => {
      void supervisor.forgetWorkspace(id);
    });
    const current = () => state.supervisor ?? { unavailable: state.unavailable };
    ctx.provide(cliAgentsRef, {
      tmuxVersion: version,
      get unavailable() {
        return state.supervisor === undefined ? state.unavailable : undefined;
      },
      list: () => supervisor.list(),
      input: (conversationId, input) => {
        const live = current();
        if ("unavailable" in live) return Promise.reject(new DispatchError("conflict", live.unavailable));
        return live.input(conversationId, input);
      },
      stats: () => ({
        sessions: supervisor.table.size,
        attempts: supervisor.attempts.size,
        timers: supervisor.timers,
        byState: supervisor.table.counts(),
      }),
    });
    ctx.setHealth(() => ({
      tmux: version ?? null,
      ...(version === undefined ? { reason: state.unavailable } : {}),
      socket: socketPath,
      agents: settings.agents.map((a) => a.id),
      sessions: supervisor.table.size,
      attempts: supervisor.attempts.size,
      timers: supervisor.timers,
    }));
  },
});
