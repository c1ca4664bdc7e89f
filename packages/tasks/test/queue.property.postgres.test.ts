import { describe, test } from "bun:test";
import { conversationStoreRef } from "@dispatch/conversation-store";
import { reusableTestDatabase } from "@dispatch/conversation-store/testing";
import { manualClock, queueHost } from "./fixtures.ts";
import { checkClaimProperty, propertyConfig } from "./queue-property.ts";

// The claim property of test/queue.property.test.ts with two hosts (two stores, two queues) on one
// PostgreSQL database: each command runs on either, and `claimRace` claims on both at once.
describe("the claim across two hosts on Postgres, over random schedules", () => {
  test("never more than maxRunning, never two starts within cooldownMs, never past the daily budget, order holds", async () => {
    await checkClaimProperty(async () => {
      const database = await reusableTestDatabase();
      const clock = manualClock(Date.UTC(2026, 11, 1, 23, 0));
      const a = await queueHost(propertyConfig, { clock, storeUrl: database.url });
      const b = await queueHost(propertyConfig, { clock, storeUrl: database.url });
      return {
        queues: [a.queue, b.queue],
        store: a.test.get(conversationStoreRef),
        clock,
        config: a.config,
        stop: async () => {
          await a.test.stop();
          await b.test.stop();
          await database.drop();
        },
      };
    }, 25);
  }, 300_000);
});
