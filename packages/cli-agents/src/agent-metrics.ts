import { Counter, Gauge, Histogram, type Registry } from "@dispatch/kernel";
import { sessionStates } from "./agent-session.ts";
import type { SessionTable } from "./session-table.ts";
import type { SupervisorCounters } from "./supervisor.ts";

/** The Prometheus metrics of CLI agents. */
export const cliAgentMetricNames = {
  sessions: "dispatch_cli_agent_sessions",
  crashes: "dispatch_cli_agent_crashes_total",
  respawns: "dispatch_cli_agent_respawns_total",
  captureTick: "dispatch_cli_agent_capture_tick_seconds",
} as const;

/**
 * Registers the metrics on `registry`: sessions by state (read from the table's counts at scrape
 * time, no walk over the sessions), crashes and respawns by agent, and how long capture ticks take.
 * Returns the counters the supervisor reports into and a function that unregisters everything.
 */
export function registerAgentMetrics(
  registry: Registry,
  table: () => SessionTable | undefined,
): { counters: SupervisorCounters; unregister(): void } {
  new Gauge({
    name: cliAgentMetricNames.sessions,
    help: "CLI agent sessions by state",
    labelNames: ["state"] as const,
    registers: [registry],
    collect() {
      const counts = table()?.counts();
      for (const state of sessionStates) this.set({ state }, counts?.[state] ?? 0);
    },
  });
  const crashes = new Counter({
    name: cliAgentMetricNames.crashes,
    help: "CLI agent crashes (crash pattern, dead pane), by agent",
    labelNames: ["agent"] as const,
    registers: [registry],
  });
  const respawns = new Counter({
    name: cliAgentMetricNames.respawns,
    help: "CLI agent respawns within a turn, by agent",
    labelNames: ["agent"] as const,
    registers: [registry],
  });
  const tick = new Histogram({
    name: cliAgentMetricNames.captureTick,
    help: "Duration of one capture tick over all CLI agent sessions",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return {
    counters: {
      crashed: (agent) => crashes.inc({ agent }),
      respawned: (agent) => respawns.inc({ agent }),
      captureTick: (seconds) => tick.observe(seconds),
    },
    unregister() {
      for (const name of Object.values(cliAgentMetricNames)) registry.removeSingleMetric(name);
    },
  };
}
