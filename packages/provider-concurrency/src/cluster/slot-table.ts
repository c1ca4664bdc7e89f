import type { ConversationStore, ExtensionDatabase } from "@dispatch/conversation-store";
import { sql } from "drizzle-orm";
import * as schema from "./schema.ts";

const { dbNow } = schema;

/** The channel a grant is announced on; payload lines are `<instance> <waiter id> <lease id> <provider id>`. */
export const grantedChannel = "provider_concurrency_granted";

/** One slot granted to a waiter (of any host). */
export interface Grant {
  leaseId: string;
  waiterId: string;
  instanceId: string;
  providerId: string;
}

/** What `pump` found and did for one provider. */
export interface PumpResult {
  grants: Grant[];
  /** Leases held cluster-wide after the pump. */
  inFlight: number;
}

/** A waiter as `enqueue` writes it. */
export interface WaiterRow {
  id: string;
  providerId: string;
  workspaceId: string;
  starred: boolean;
  promptStartedAt: number;
  turnId: string | null;
  conversationId: string | null;
}

type Rows<T> = T[];

/**
 * The slot tables' statements. The grant (`pump`) is one transaction that first locks the
 * provider's row, so grants for one provider are serialised across every host: it drops expired
 * leases and waiters, counts the leases left, and turns the first `limit - count` waiters (in
 * grant order) into leases. The count can therefore never pass the limit, whatever the timing.
 */
export class SlotTable {
  readonly #store: Pick<ConversationStore, "transaction" | "notifications" | "instanceId">;
  readonly #db: ExtensionDatabase<typeof schema>;

  constructor(store: Pick<ConversationStore, "transaction" | "notifications" | "instanceId" | "database">) {
    this.#store = store;
    this.#db = store.database(schema);
  }

  /** Sets a provider's limit (the last host to start wins; hosts share their config). */
  async setLimit(providerId: string, maxConcurrent: number): Promise<void> {
    await this.#exec(sql`
      insert into provider_concurrency_limits (provider_id, max_concurrent) values (${providerId}, ${maxConcurrent})
      on conflict (provider_id) do update set max_concurrent = excluded.max_concurrent`);
  }

  /** Queues a waiter and runs the grant: one statement (the grant function), so one round trip. */
  async enqueueAndPump(
    waiter: WaiterRow,
    limit: number,
    agingMs: number,
    ttlMs: number,
  ): Promise<PumpResult> {
    return this.#grant(waiter.providerId, limit, agingMs, ttlMs, {
      waiter: {
        id: waiter.id,
        workspaceId: waiter.workspaceId,
        starred: waiter.starred,
        promptStartedAt: Math.trunc(waiter.promptStartedAt),
        turnId: waiter.turnId,
        conversationId: waiter.conversationId,
      },
    });
  }

  /** Runs the grant for one provider (a slot may be free: a release, an expiry, a pause that ended). */
  async pump(providerId: string, limit: number, agingMs: number, ttlMs: number): Promise<PumpResult> {
    return this.#grant(providerId, limit, agingMs, ttlMs, {});
  }

  /** Gives a slot back and grants it on, in one statement. */
  async releaseAndPump(
    leaseId: string,
    providerId: string,
    limit: number,
    agingMs: number,
    ttlMs: number,
  ): Promise<PumpResult> {
    return this.#grant(providerId, limit, agingMs, ttlMs, { release: leaseId });
  }

  /** Removes a waiter; false when it was no longer waiting (granted, or expired). */
  async removeWaiter(waiterId: string): Promise<boolean> {
    const rows = await this.#exec<{ id: string }>(
      sql`delete from provider_concurrency_waiters where id = ${waiterId} returning id`,
    );
    return rows.length > 0;
  }

  /** Grants made to this host's waiters (a lost notification is found here). */
  async grantsFor(waiterIds: readonly string[]): Promise<Grant[]> {
    if (waiterIds.length === 0) return [];
    const rows = await this.#exec<{
      id: string;
      waiter_id: string;
      instance_id: string;
      provider_id: string;
    }>(sql`
      select id, waiter_id, instance_id, provider_id from provider_concurrency_leases
      where waiter_id in (${sql.join(
        waiterIds.map((id) => sql`${id}`),
        sql`, `,
      )})`);
    return rows.map((r) => ({
      leaseId: r.id,
      waiterId: r.waiter_id,
      instanceId: r.instance_id,
      providerId: r.provider_id,
    }));
  }

  /**
   * Extends the expiry of this host's waiters and leases; returns the ids of its leases still in
   * the table (one missing was expired or taken back: its holder must stop).
   */
  async renew(ttlMs: number): Promise<Set<string>> {
    const me = this.#store.instanceId;
    await this.#exec(sql`
      update provider_concurrency_waiters set expires_at = ${dbNow} + ${ttlMs} where instance_id = ${me}`);
    const rows = await this.#exec<{ id: string }>(sql`
      update provider_concurrency_leases set expires_at = ${dbNow} + ${ttlMs} where instance_id = ${me} returning id`);
    return new Set(rows.map((r) => r.id));
  }

  /** Copies a workspace's star onto its waiters, on every host. */
  async setStarred(workspaceId: string, starred: boolean): Promise<void> {
    await this.#exec(sql`
      update provider_concurrency_waiters set starred = ${starred} where workspace_id = ${workspaceId} and starred <> ${starred}`);
  }

  /** Pauses a provider's grants cluster-wide for `forMs` from now (database clock); only ever lengthens a pause. */
  async pause(providerId: string, limit: number, forMs: number): Promise<void> {
    await this.#exec(sql`
      insert into provider_concurrency_limits (provider_id, max_concurrent, cooling_until)
      values (${providerId}, ${limit}, ${dbNow} + ${Math.ceil(forMs)})
      on conflict (provider_id) do update
      set cooling_until = greatest(coalesce(provider_concurrency_limits.cooling_until, 0), excluded.cooling_until)`);
  }

  /** Drops every waiter and lease of a store instance (a dead host, or this one leaving); their providers. */
  async dropInstance(instanceId: string): Promise<string[]> {
    return this.#store.transaction(async () => {
      const a = await this.#exec<{ provider_id: string }>(sql`
        delete from provider_concurrency_waiters where instance_id = ${instanceId} returning provider_id`);
      const b = await this.#exec<{ provider_id: string }>(sql`
        delete from provider_concurrency_leases where instance_id = ${instanceId} returning provider_id`);
      return [...new Set([...a, ...b].map((r) => r.provider_id))];
    });
  }

  /**
   * The grant function (migration 0001): in one statement, and so in one transaction, it queues the
   * waiter or gives the lease back, locks the provider's row, drops expired rows and grants the free
   * slots, NOTIFYing each grant (delivered at COMMIT) to every host.
   */
  async #grant(
    providerId: string,
    limit: number,
    agingMs: number,
    ttlMs: number,
    change: { waiter?: Record<string, unknown>; release?: string },
  ): Promise<PumpResult> {
    const [row] = await this.#exec<{
      in_flight: number;
      lease_ids: string[];
      waiter_ids: string[];
      instance_ids: string[];
    }>(sql`
      select * from provider_concurrency_grant(${providerId}, ${limit}, ${agingMs}, ${ttlMs},
        ${this.#store.instanceId}, ${change.release ?? null},
        (${change.waiter === undefined ? null : JSON.stringify(change.waiter)}::text)::jsonb)`);
    if (row === undefined) return { grants: [], inFlight: 0 };
    const grants = row.lease_ids.map((leaseId, i) => ({
      leaseId,
      waiterId: row.waiter_ids[i] as string,
      instanceId: row.instance_ids[i] as string,
      providerId,
    }));
    return { grants, inFlight: Number(row.in_flight) };
  }

  async #exec<T = Record<string, unknown>>(query: ReturnType<typeof sql>): Promise<Rows<T>> {
    // drizzle's pg-proxy answers `execute` with the driver's rows (objects keyed by column)
    return [...((await this.#db.execute(query)) as unknown as Iterable<T>)];
  }
}

/** Parses a grant notification's lines. */
export function parseGrants(payload: string): Grant[] {
  return payload.split("\n").flatMap((line) => {
    const [instanceId, waiterId, leaseId, ...rest] = line.split(" ");
    const providerId = rest.join(" ");
    return instanceId && waiterId && leaseId && providerId
      ? [{ instanceId, waiterId, leaseId, providerId }]
      : [];
  });
}
