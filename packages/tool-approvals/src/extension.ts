import { conversationStoreRef } from "@dispatch/conversation-store";
import { createServiceRef, defineExtension } from "@dispatch/kernel";
import { toolGatesPoint } from "@dispatch/session-orchestrator";
import { httpRoutesPoint } from "@dispatch/transport-http";
import { toolsConfigSchema } from "@dispatch/workspace-tools";
import { approvalOperations, approvalRoutes, approvalsMountPath } from "./approval-routes.ts";
import { Approvals } from "./approvals.ts";

/** This extension's own service: links its gate and route (made in `register`) to the running state. */
const approvalsRef = createServiceRef<Approvals>("tool-approvals");

/**
 * Permission rules and approvals for tool calls (DESIGN §15): a gate in front of every tool call
 * (session-orchestrator's `toolGatesPoint`) and the route that answers a waiting call. It reads the
 * `tools` slice with workspace-tools' own schema (`tools.permissions`, `tools.approvalTimeoutMs`).
 * Critical: a host whose permission rules cannot be enforced must not start (its gate would refuse
 * every call anyway).
 */
export const toolApprovalsExtension = defineExtension({
  manifest: {
    id: "tool-approvals",
    version: "0.1.0",
    dependsOn: ["conversation-store"],
    extends: ["session-orchestrator", "transport-http"],
    critical: true,
  },
  provides: [approvalsRef],
  consumes: [conversationStoreRef],
  config: { key: "tools", schema: toolsConfigSchema },
  register(reg) {
    const approvals = reg.provided(approvalsRef);
    reg.contribute(toolGatesPoint, {
      id: "tool-approvals",
      check: (call, context) => approvals().check(call, context),
    });
    reg.contribute(httpRoutesPoint, {
      path: approvalsMountPath,
      routes: () => approvalRoutes(approvals()),
      openapi: approvalOperations,
    });
  },
  activate(ctx) {
    const approvals = new Approvals({
      store: ctx.use(conversationStoreRef),
      hostRules: ctx.config.permissions,
      timeoutMs: ctx.config.approvalTimeoutMs,
      logger: ctx.logger,
    });
    ctx.onDispose(() => approvals.close());
    ctx.provide(approvalsRef, approvals);
    ctx.setHealth(() => ({
      pending: approvals.pendingCount,
      hostRules: Object.keys(ctx.config.permissions).length,
      timeoutMs: ctx.config.approvalTimeoutMs,
      ...approvals.stats,
    }));
  },
});
