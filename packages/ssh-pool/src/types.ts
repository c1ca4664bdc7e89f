import { createServiceRef } from "@dispatch/kernel";
import type { PoolStats } from "./connection-pool.ts";
import type { SshPool } from "./ssh-pool.ts";

/** The pools of the configured hosts, for extensions that need SSH beyond the workspace tools. */
export interface SshPools {
  /** The pool of `hostId`, or undefined for a host that is not configured. */
  get(hostId: string): SshPool | undefined;
  /** Every host's state, in config order. */
  stats(): PoolStats[];
}

/** The service the `ssh-pool` extension provides. */
export const sshPoolsRef = createServiceRef<SshPools>("ssh-pool");
