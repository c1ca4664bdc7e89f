import { createServiceRef } from "@dispatch/kernel";

/** A host of the cluster as its row says. */
export interface ClusterInstance {
  id: string;
  hostname: string;
  pid: number;
  /** Epoch ms, database clock. */
  startedAt: number;
  lastSeen: number;
  /** When it was declared dead (or left); null while it is alive. */
  deadAt: number | null;
}

/** What the `cluster` extension tells other extensions about the hosts sharing the database. */
export interface ClusterService {
  /** True on PostgreSQL, where several hosts may share the database; false on SQLite (one host). */
  readonly enabled: boolean;
  /** This host's store instance id (`store.instanceId`). */
  readonly instanceId: string;
  /** How long a host may be silent before it is declared dead (`cluster.instanceTimeoutMs`). */
  readonly instanceTimeoutMs: number;
  /** True once this host lost its place (declared dead by a survivor, or unable to heartbeat). */
  readonly fenced: boolean;
  /** Every host the database knows of, alive or recently dead. */
  instances(): Promise<ClusterInstance[]>;
}

/** The service ref of the cluster extension. */
export const clusterRef = createServiceRef<ClusterService>("cluster");

declare module "@dispatch/kernel" {
  interface DispatchEvents {
    /**
     * A host on the same database stopped heartbeating for `cluster.instanceTimeoutMs` (or shut
     * down): whoever holds state of it recovers that state now. Published on every host, and again
     * at start-up for hosts that died recently; recovery must be idempotent.
     */
    "cluster.instance_lost": { instanceId: string };
    /** This host lost its place in the cluster (declared dead, or no heartbeat got through): stop work. */
    "cluster.fenced": { reason: string };
  }
}
