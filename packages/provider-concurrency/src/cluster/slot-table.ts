import type { ConversationStore, ExtensionDatabase } from "@dispatch/conversation-store";
import { sql } from "drizzle-orm";
import * as schema from "./schema.ts";

const { dbNow } = schema;

/** The channel a grant is announced on; payload lines are `<instance> <waiter id> <lease id> <provider id>`. */
export const grantedChannel = "provider_concurrency_granted";

/** NOTIFY payloads must stay under 8000 bytes; grants are sent in chunks below that. */
const maxPayload = 7_000;

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

  /** Queues a waiter and runs the grant, in one transaction. */
  async enqueueAndPump(
    waiter: WaiterRow,
    limit: number,
    agingMs: number,
    ttlMs: number,
  ): Promise<PumpResult> {
    return this.#store.transaction(async () => {
      await this.#exec(sql`
        insert into provider_concurrency_waiters
          (id, provider_id, instance_id, workspace_id, starred, prompt_started_at, turn_id, conversation_id, expires_at)
        values (${waiter.id}, ${waiter.providerId}, ${this.#store.instanceId}, ${waiter.workspaceId}, ${waiter.starred},
          ${Math.trunc(waiter.promptStartedAt)}, ${waiter.turnId}, ${waiter.conversationId}, ${dbNow} + ${ttlMs})`);
      return this.#grant(waiter.providerId, limit, agingMs, ttlMs);
    });
  }

  /** Runs the grant for one provider (a slot may be free: a release, an expiry, a pause that ended). */
  async pump(providerId: string, limit: number, agingMs: number, ttlMs: number): Promise<PumpResult> {
    return this.#store.transaction(() => this.#grant(providerId, limit, agingMs, ttlMs));
  }

  /** Gives a slot back and grants it on, in one transaction. */
  async releaseAndPump(
    leaseId: string,
    providerId: string,
    limit: number,
    agingMs: number,
    ttlMs: number,
  ): Promise<PumpResult> {
    return this.#store.transaction(async () => {
      await this.#exec(sql`delete from provider_concurrency_leases where id = ${leaseId}`);
      return this.#grant(providerId, limit, agingMs, ttlMs);
    });
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

  /** Pauses a provider's grants cluster-wide for `forMs` from now (database clock). */
  async pause(providerId: string, forMs: number): Promise<void> {
    await this.#exec(sql`
      update provider_concurrency_limits
      set cooling_until = greatest(coalesce(cooling_until, 0), ${dbNow} + ${Math.ceil(forMs)})
      where provider_id = ${providerId}`);
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

  async #grant(providerId: string, limit: number, agingMs: number, ttlMs: number): Promise<PumpResult> {
    await this.#exec(sql`
      insert into provider_concurrency_limits (provider_id, max_concurrent) values (${providerId}, ${limit})
      on conflict (provider_id) do nothing`);
    const [row] = await this.#exec<{ max_concurrent: number; cooling_until: string | null; now: string }>(sql`
      select max_concurrent, cooling_until, ${dbNow} as now from provider_concurrency_limits
      where provider_id = ${providerId} for update`);
    if (row === undefined) return { grants: [], inFlight: 0 };
    const now = Number(row.now);
    await this.#exec(
      sql`delete from provider_concurrency_leases where provider_id = ${providerId} and expires_at < ${now}`,
    );
    await this.#exec(
      sql`delete from provider_concurrency_waiters where provider_id = ${providerId} and expires_at < ${now}`,
    );
    const [held] = await this.#exec<{ n: number }>(sql`
      select count(*)::int as n from provider_concurrency_leases where provider_id = ${providerId}`);
    const inFlight = Number(held?.n ?? 0);
    const cooling = row.cooling_until !== null && Number(row.cooling_until) > now;
    const free = cooling ? 0 : Number(row.max_concurrent) - inFlight;
    if (free <= 0) return { grants: [], inFlight };
    const granted = await this.#exec<{ id: string; waiter_id: string; instance_id: string }>(sql`
      with chosen as (
        select id from provider_concurrency_waiters where provider_id = ${providerId}
        order by (starred or prompt_started_at < ${now - agingMs}) desc, prompt_started_at, seq
        limit ${free}),
      taken as (
        delete from provider_concurrency_waiters w using chosen where w.id = chosen.id returning w.*)
      insert into provider_concurrency_leases
        (id, provider_id, instance_id, waiter_id, workspace_id, turn_id, granted_at, expires_at)
      select 'l' || substr(taken.id, 2), taken.provider_id, taken.instance_id, taken.id, taken.workspace_id,
        taken.turn_id, ${now}, ${now + ttlMs}
      from taken
      returning id, waiter_id, instance_id`);
    const grants = granted.map((r) => ({
      leaseId: r.id,
      waiterId: r.waiter_id,
      instanceId: r.instance_id,
      providerId,
    }));
    await this.#announce(grants);
    return { grants, inFlight: inFlight + grants.length };
  }

  /** NOTIFYs the grants (delivered at COMMIT) to every host; each picks out its own. */
  async #announce(grants: readonly Grant[]): Promise<void> {
    const notifications = this.#store.notifications;
    if (notifications === undefined || grants.length === 0) return;
    let chunk = "";
    for (const grant of grants) {
      const line = `${grant.instanceId} ${grant.waiterId} ${grant.leaseId} ${grant.providerId}`;
      if (chunk.length + line.length + 1 > maxPayload) {
        await notifications.notify(grantedChannel, chunk);
        chunk = "";
      }
      chunk = chunk === "" ? line : `${chunk}\n${line}`;
    }
    if (chunk !== "") await notifications.notify(grantedChannel, chunk);
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
