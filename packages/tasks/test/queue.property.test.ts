import { describe, test } from "bun:test";
import { conversationStoreRef } from "@dispatch/conversation-store";
import { manualClock, queueHost } from "./fixtures.ts";
import { checkClaimProperty, propertyConfig } from "./queue-property.ts";

// One host on SQLite; test/queue.property.postgres.test.ts runs the same property with two hosts
// on one Postgres database.
describe("the claim, over random schedules", () => {
  test("never more than maxRunning, never two starts within cooldownMs, never past the daily budget, order holds", async () => {
    await checkClaimProperty(async () => {
      // an hour before midnight, so schedules cross into the next budget day
      const clock = manualClock(Date.UTC(2026, 11, 1, 23, 0));
      const { test: host, queue, config } = await queueHost(propertyConfig, { clock });
      return {
        queues: [queue],
        store: host.get(conversationStoreRef),
        clock,
        config,
        stop: () => host.stop().then(() => {}),
      };
    }, 40);
  });
});
