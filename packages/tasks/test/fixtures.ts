import {
  conversationStoreExtension,
  conversationStoreRef,
  storeSchemasPoint,
} from "@dispatch/conversation-store";
import { defineExtension } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { type TasksConfig, tasksConfigSchema } from "../src/config.ts";
import { TaskQueue, type TaskQueueDeps } from "../src/task-queue.ts";

/** The tasks tables alone (the queue without the scheduler), contributed the way the extension does. */
export const tasksTablesOnly = defineExtension({
  manifest: { id: "tasks", version: "0.1.0", extends: ["conversation-store"] },
  register(reg) {
    reg.contribute(storeSchemasPoint, {
      migrations: {
        sqlite: new URL("../drizzle", import.meta.url),
        postgres: new URL("../drizzle-postgres", import.meta.url),
      },
    });
  },
  activate() {},
});

/** A clock the test moves by hand. */
export interface ManualClock {
  now: number;
  (): number;
}

export function manualClock(start: number): ManualClock {
  const clock = (() => clock.now) as ManualClock;
  clock.now = start;
  return clock;
}

/** A real store with the tasks tables and a queue over it, in a temp data dir (or on `storeUrl`). */
export async function queueHost(
  config: Partial<TasksConfig> = {},
  options: {
    clock?: () => number;
    dataDir?: string;
    storeUrl?: string;
    publish?: TaskQueueDeps["publish"];
  } = {},
): Promise<{ test: TestHost; queue: TaskQueue; clock: () => number; config: TasksConfig }> {
  const test = await createTestHost({
    extensions: [conversationStoreExtension, tasksTablesOnly],
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.storeUrl ? { config: { store: { url: options.storeUrl } } } : {}),
  });
  const clock = options.clock ?? Date.now;
  const parsed = tasksConfigSchema.parse(config);
  const queue = new TaskQueue({
    store: test.get(conversationStoreRef),
    config: parsed,
    clock,
    ...(options.publish ? { publish: options.publish } : {}),
  });
  return { test, queue, clock, config: parsed };
}
