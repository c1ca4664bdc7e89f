import { createExtensionPoint } from "@dispatch/kernel";
import type { ExecutionBackend } from "./backend.ts";

/** The host id of the machine Dispatch runs on: the backend of workspaces whose `hostId` is null. */
export const LOCAL_HOST_ID = "local";

/**
 * One execution backend, contributed to `executionBackendsPoint`. `create` is called lazily, the
 * first time a workspace on `hostId` needs it (after every extension has activated), so it may use
 * the contributor's running state (see `reg.provided`); it is called at most once per host.
 */
export interface ExecutionBackendContribution {
  /** The `hostId` workspaces name, or `local` for workspaces without one; unique among backends. */
  readonly hostId: string;
  /** Makes the backend; a throw is reported to the caller as `unavailable` and tried again next time. */
  create(): ExecutionBackend;
}

/** Where execution backends come from: the local one (workspace-tools' own) and one per SSH host. */
export const executionBackendsPoint = createExtensionPoint<ExecutionBackendContribution>({
  id: "workspace-tools.backends",
  keyOf: (backend) => backend.hostId,
});
