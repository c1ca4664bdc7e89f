import { DispatchError } from "@dispatch/kernel";
import type { ExecutionBackend, ExecutionBackends } from "./backend.ts";

/** A registry of backends: `local` for workspaces without a host, registered ones by host id. */
export function createExecutionBackends(local: ExecutionBackend): ExecutionBackends {
  const remotes = new Map<string, ExecutionBackend>();
  return {
    register(hostId, backend) {
      if (remotes.has(hostId)) {
        throw new DispatchError(
          "conflict",
          `an execution backend for host "${hostId}" is already registered`,
        );
      }
      remotes.set(hostId, backend);
      return () => {
        // Only remove what this call added, so a stale unregister cannot drop a newer backend.
        if (remotes.get(hostId) === backend) remotes.delete(hostId);
      };
    },
    forHost(hostId) {
      if (hostId === null) return local;
      const backend = remotes.get(hostId);
      if (backend === undefined) {
        const known = [...remotes.keys()].sort();
        throw new DispatchError(
          "not_found",
          `no execution backend for host "${hostId}" (known hosts: ${known.length > 0 ? known.join(", ") : "none"})`,
          { details: { hostId } },
        );
      }
      return backend;
    },
  };
}
