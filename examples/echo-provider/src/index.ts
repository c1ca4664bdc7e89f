/**
 * An example extension written the way one outside this repo would be: it contributes the provider
 * kind `echo` (answers with the user's text, streamed) and owns a table, `echo_calls`, that counts
 * each echo provider's calls and survives restarts. Load it with
 * `"extensions": { "paths": ["path/to/examples/echo-provider/src/index.ts"] }` and configure a
 * provider `{ "id": "echo", "kind": "echo", "prefix": "you said: ", "chunks": 3 }`.
 */
import { conversationStoreRef, storeSchemasPoint } from "@dispatch/conversation-store";
import { defineExtension, perHost } from "@dispatch/kernel";
import { providerKindsPoint } from "@dispatch/providers";
import { sql } from "drizzle-orm";
import { type CallCounter, echoKind } from "./echo-kind.ts";
import { echoCalls } from "./schema.ts";

export { type CallCounter, echoKind } from "./echo-kind.ts";
export { echoCalls } from "./schema.ts";

/** What `/health` shows for this extension. */
export interface EchoHealth {
  /** Calls counted per echo provider id, all time (read from `echo_calls`). */
  calls: Record<string, number>;
}

/**
 * The counter a kind built at the providers extension's activation uses once this extension has
 * activated; one per host, so several hosts in one test process do not share it.
 */
const stateOf = perHost((): { counter: CallCounter | undefined } => ({ counter: undefined }));

/** The extension definition; the host finds it as this module's default export. */
export const echoExtension = defineExtension({
  manifest: {
    id: "echo",
    version: "0.1.0",
    // the store's service is used at activation; both points we contribute to are named in extends
    dependsOn: ["conversation-store"],
    extends: ["providers", "conversation-store"],
  },
  consumes: [conversationStoreRef],
  register(reg) {
    const state = stateOf(reg.host);
    reg.contribute(
      providerKindsPoint,
      echoKind(() => state.counter),
    );
    reg.contribute(storeSchemasPoint, { migrations: new URL("../drizzle", import.meta.url) });
  },
  async activate(ctx) {
    const state = stateOf(ctx.host);
    const db = ctx.use(conversationStoreRef).database({ echoCalls });
    const totals = new Map<string, number>();
    for (const row of await db.select().from(echoCalls)) totals.set(row.providerId, row.calls);

    state.counter = {
      async count(providerId) {
        const now = Date.now();
        try {
          const [row] = await db
            .insert(echoCalls)
            .values({ providerId, calls: 1, lastCallAt: now })
            .onConflictDoUpdate({
              target: echoCalls.providerId,
              set: { calls: sql`${echoCalls.calls} + 1`, lastCallAt: now },
            })
            .returning({ calls: echoCalls.calls });
          const calls = row?.calls ?? 0;
          totals.set(providerId, calls);
          return { ok: true, calls };
        } catch (error) {
          ctx.reportFault("count", error);
          return { ok: false, message: error instanceof Error ? error.message : String(error) };
        }
      },
    };
    // calls still arriving while the host stops get a clear error instead of a closed database
    ctx.onDispose(() => {
      state.counter = undefined;
    });
    ctx.setHealth((): Record<string, unknown> & EchoHealth => ({ calls: Object.fromEntries(totals) }));
  },
});

export default echoExtension;
