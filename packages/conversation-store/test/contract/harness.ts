import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DispatchEvents, EventName } from "@dispatch/kernel";
import { openPostgresStore } from "../../src/postgres/open-postgres-store.ts";
import { coreTables } from "../../src/schema-ownership.ts";
import type { BusPublisher } from "../../src/store-database.ts";
import { reusableTestDatabase } from "../../src/testing/postgres-server.ts";
import type { ConversationStore, StoreDialect } from "../../src/types.ts";
import { cleanupAll, type Published, tempStore } from "../fixtures/temp-store.ts";

/** What a contract test may ask of the store it gets. */
export interface HarnessOptions {
  clock?: () => number;
  maxMessageBytes?: number;
  onAppended?: (count: number) => void;
  bus?: BusPublisher;
}

/** A fresh store on a fresh database, with the bus events it published. */
export interface StoreUnderTest {
  store: ConversationStore;
  /** The directory the `default` workspace's root is under (`<dataDir>/workspaces/default`). */
  dataDir: string;
  published: Published[];
  /** Rows in a core table, counted on the database itself. */
  count(table: string): Promise<number>;
}

/** How the contract suite gets stores of one dialect. */
export interface StoreHarness {
  readonly dialect: StoreDialect;
  open(options?: HarnessOptions): Promise<StoreUnderTest>;
  /** Closes and removes everything `open` made (call it in afterEach). */
  cleanup(): Promise<void>;
}

/** The rejection of a promise expected to fail (fails the test when it resolves). */
export { rejectionOf } from "../fixtures/temp-store.ts";

function recorder(options: HarnessOptions): { published: Published[]; bus: BusPublisher } {
  const published: Published[] = [];
  const bus = {
    publish<K extends EventName>(event: K, payload: DispatchEvents[K]) {
      published.push({ event, payload } as Published);
      options.bus?.publish(event, payload);
    },
  };
  return { published, bus };
}

/** Stores on a real SQLite file in a temp dir. */
export const sqliteHarness: StoreHarness = {
  dialect: "sqlite",
  async open(options = {}) {
    const { published, bus } = recorder(options);
    const { bus: _ignored, ...rest } = options;
    const temp = tempStore({ ...rest, bus });
    temp.published.length = 0;
    return {
      store: temp.store,
      dataDir: temp.dir,
      published,
      count: async (table) => temp.peek<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)[0]?.n ?? 0,
    };
  },
  async cleanup() {
    cleanupAll();
  },
};

const pgOpen: Array<() => Promise<void>> = [];

/** Stores on a fresh database of the throwaway PostgreSQL server (see `testPostgresUrl`). */
export const postgresHarness: StoreHarness = {
  dialect: "postgres",
  async open(options = {}) {
    const { published, bus } = recorder(options);
    const database = await reusableTestDatabase(coreTables);
    const dataDir = mkdtempSync(join(tmpdir(), "dispatch-pg-store-test-"));
    let store: Awaited<ReturnType<typeof openPostgresStore>> | undefined;
    pgOpen.push(async () => {
      await store?.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    store = await openPostgresStore({
      url: database.url,
      bus,
      defaultWorkspaceRoot: join(dataDir, "workspaces", "default"),
      maxConnections: 4,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.maxMessageBytes ? { maxMessageBytes: options.maxMessageBytes } : {}),
      ...(options.onAppended ? { onAppended: options.onAppended } : {}),
    });
    const opened = store;
    return {
      store: opened,
      dataDir,
      published,
      count: async (table) => {
        const { SQL } = await import("bun");
        const peek = new SQL(database.url, { max: 1 });
        try {
          const [row] = await peek.unsafe(`SELECT count(*)::int AS n FROM ${table}`);
          return Number(row?.n ?? 0);
        } finally {
          await peek.close();
        }
      },
    };
  },
  async cleanup() {
    for (const close of pgOpen.splice(0)) await close();
  },
};
