import { hostname } from "node:os";
import type { ConversationStore, ExtensionDatabase } from "@dispatch/conversation-store";
import type { Logger } from "@dispatch/kernel";
import { sql } from "drizzle-orm";
import * as schema from "./schema.ts";
import type { ClusterInstance } from "./types.ts";

/** The channel on which a survivor tells every host that one was declared dead: payload = its id. */
export const lostChannel = "cluster_instance_lost";

/** The database's clock in epoch ms: every host compares times on the one clock they share. */
const dbNow = sql`(extract(epoch from clock_timestamp()) * 1000)::bigint`;

/** How long dead hosts' rows are kept, so a host starting later still recovers what they left. */
const retentionMs = 24 * 3_600_000;

/** What the registry needs. */
export interface InstanceRegistryDeps {
  store: Pick<ConversationStore, "database" | "transaction" | "instanceId" | "notifications">;
  instanceTimeoutMs: number;
  logger: Logger;
  /** Time source for this host's own heartbeat age (monotonic enough: Date.now). */
  clock?: () => number;
  /** A host was declared dead (by this host or another); called on every host. Must not throw. */
  onLost(instanceId: string): void;
  /** This host lost its place. Called once. Must not throw. */
  onFenced(reason: string): void;
}

type Row = typeof schema.instances.$inferSelect;

/**
 * This host's row among the hosts on one Postgres database: it heartbeats it, declares silent
 * hosts dead (a conditional UPDATE, so exactly one survivor declares each, and its NOTIFY reaches
 * every host), and notices when it was itself declared dead, or could not heartbeat for longer than
 * the timeout, which means a survivor may be taking its work over: it is then fenced.
 */
export class InstanceRegistry {
  readonly #deps: InstanceRegistryDeps;
  readonly #db: ExtensionDatabase<typeof schema>;
  readonly #clock: () => number;
  /** Local time at which the last successful heartbeat was sent. */
  #lastBeat: number;
  #fenced = false;
  #unlisten: (() => Promise<void>) | undefined;

  constructor(deps: InstanceRegistryDeps) {
    this.#deps = deps;
    this.#db = deps.store.database(schema);
    this.#clock = deps.clock ?? Date.now;
    this.#lastBeat = this.#clock();
  }

  /** True once fenced. */
  get fenced(): boolean {
    return this.#fenced;
  }

  /**
   * Joins: listens for declared deaths, writes this host's row, and declares `previous` (this data
   * dir's last instance, if it had one) dead at once: that process is gone, and its turns and
   * tasks need not wait out the timeout.
   */
  async join(previous: string | undefined): Promise<void> {
    const notifications = this.#deps.store.notifications;
    if (notifications !== undefined) {
      this.#unlisten = await notifications.listen(lostChannel, (id) => {
        if (id !== this.#deps.store.instanceId) this.#deps.onLost(id);
        else this.#fence("another host declared this one dead");
      });
    }
    const sent = this.#clock();
    await this.#db.execute(sql`
      insert into cluster_instances (id, hostname, pid, started_at, last_seen)
      values (${this.#deps.store.instanceId}, ${hostname()}, ${process.pid}, ${dbNow}, ${dbNow})`);
    this.#lastBeat = sent;
    if (previous !== undefined && previous !== this.#deps.store.instanceId) await this.#declareDead(previous);
  }

  /**
   * One heartbeat and one sweep: refresh this host's row (none refreshed: it was declared dead),
   * then declare dead every host silent for longer than the timeout. A heartbeat that fails is
   * retried at the next tick; past the timeout without one, this host fences itself.
   */
  async tick(): Promise<void> {
    if (this.#fenced) return;
    const sent = this.#clock();
    try {
      const beat = await this.#db.execute(sql`
        update cluster_instances set last_seen = ${dbNow}
        where id = ${this.#deps.store.instanceId} and dead_at is null returning id`);
      if ([...beat].length === 0) {
        this.#fence("this host's cluster row was declared dead by a survivor");
        return;
      }
      this.#lastBeat = sent;
    } catch (error) {
      if (this.#clock() - this.#lastBeat > this.#deps.instanceTimeoutMs) {
        this.#fence(`no heartbeat got through for more than ${this.#deps.instanceTimeoutMs} ms`);
        return;
      }
      this.#deps.logger.warn("cluster heartbeat failed; retrying at the next tick", { err: error });
      return;
    }
    await this.#sweep();
  }

  /** Every host the database knows of. */
  async instances(): Promise<ClusterInstance[]> {
    const rows = await this.#db.select().from(schema.instances).orderBy(schema.instances.startedAt);
    return rows.map((row: Row) => ({ ...row }));
  }

  /** Hosts declared dead within the retention period (their work may still need recovering). */
  async recentlyDead(): Promise<string[]> {
    const rows = (await this.#db.execute(sql`
      select id from cluster_instances where dead_at is not null and dead_at > ${dbNow} - ${retentionMs}
      and id <> ${this.#deps.store.instanceId}`)) as unknown as Array<{ id: string }>;
    return [...rows].map((row) => row.id);
  }

  /** Leaves the cluster (clean shutdown): this host is declared dead by itself, so survivors recover at once. */
  async leave(): Promise<void> {
    await this.#unlisten?.();
    this.#unlisten = undefined;
    if (this.#fenced) return;
    await this.#declareDead(this.#deps.store.instanceId).catch((error: unknown) => {
      this.#deps.logger.warn("could not leave the cluster cleanly; survivors will find this host silent", {
        err: error,
      });
    });
  }

  async #sweep(): Promise<void> {
    await this.#deps.store.transaction(async () => {
      const dead = (await this.#db.execute(sql`
        update cluster_instances set dead_at = ${dbNow}
        where dead_at is null and id <> ${this.#deps.store.instanceId}
        and last_seen < ${dbNow} - ${this.#deps.instanceTimeoutMs}
        returning id`)) as unknown as Array<{ id: string }>;
      for (const { id } of dead) {
        this.#deps.logger.warn("a host of the cluster went silent; recovering its work", {
          instanceId: id,
          instanceTimeoutMs: this.#deps.instanceTimeoutMs,
        });
        await this.#deps.store.notifications?.notify(lostChannel, id);
      }
      await this.#db.execute(sql`delete from cluster_instances where dead_at < ${dbNow} - ${retentionMs}`);
    });
  }

  /** Declares one host dead (if nobody did yet) and tells every host, in one transaction. */
  async #declareDead(id: string): Promise<void> {
    await this.#deps.store.transaction(async () => {
      const declared = (await this.#db.execute(sql`
        update cluster_instances set dead_at = ${dbNow} where id = ${id} and dead_at is null returning id`)) as unknown as Array<{
        id: string;
      }>;
      if ([...declared].length > 0) await this.#deps.store.notifications?.notify(lostChannel, id);
    });
  }

  #fence(reason: string): void {
    if (this.#fenced) return;
    this.#fenced = true;
    this.#deps.logger.error("this host lost its place in the cluster and stops its work; restart it", {
      reason,
    });
    this.#deps.onFenced(reason);
  }
}
