import { conversationStoreRef } from "@dispatch/conversation-store";
import { createServiceRef, defineExtension, Gauge } from "@dispatch/kernel";
import { httpRoutesPoint, httpServerRef } from "@dispatch/transport-http";
import type { Hono } from "hono";
import { ActivityLog } from "./activity-log.ts";
import { ActivityRecorder } from "./activity-recorder.ts";
import { activityOperations, activityRoutes, maxActivityPage } from "./activity-routes.ts";
import { activitySourcesPoint } from "./activity-sources.ts";
import { ActivityStreams } from "./activity-streams.ts";
import { builtinActivitySources } from "./builtin-sources.ts";
import { activityConfigSchema } from "./config.ts";
import { activityRef } from "./types.ts";

/** The routes, made at activation; a ref of the extension's own so its contribution can reach them. */
const activityRoutesRef = createServiceRef<Hono>("activity.routes");

/**
 * The host-wide activity feed (DESIGN §18): bus events turned into entries by the contributions to
 * `activitySourcesPoint` (its own for the built-in extensions' events, and any extension's), kept in
 * memory, and served as `GET /activity` and the resumable SSE stream `GET /activity/stream`.
 */
export const activityExtension = defineExtension({
  manifest: {
    id: "activity",
    version: "0.1.0",
    dependsOn: ["conversation-store"],
    optionalDependsOn: ["transport-http"],
    extends: ["transport-http"],
  },
  provides: [activityRef, activityRoutesRef],
  extensionPoints: [activitySourcesPoint],
  consumes: [conversationStoreRef, httpServerRef],
  config: { key: "activity", schema: activityConfigSchema },
  register(reg) {
    for (const source of builtinActivitySources) reg.contribute(activitySourcesPoint, source);
    reg.contribute(httpRoutesPoint, {
      path: "/activity",
      routes: reg.provided(activityRoutesRef),
      openapi: activityOperations,
    });
  },
  activate(ctx) {
    const store = ctx.use(conversationStoreRef);
    const log = new ActivityLog({ keep: ctx.config.keep });
    const recorder = new ActivityRecorder({
      log,
      logger: ctx.logger,
      workspaceOf: async (id) => (await store.conversations.get(id))?.workspaceId,
    });
    for (const { extensionId, value } of ctx.contributions(activitySourcesPoint)) {
      ctx.bus.subscribe(value.event, (payload) => {
        let input: ReturnType<typeof value.entry>;
        try {
          input = value.entry(payload);
        } catch (error) {
          // Counted against activity (the subscriber), logged naming the contributor that threw.
          ctx.logger.warn("an activity source threw; the event is skipped", {
            err: error,
            source: extensionId,
            event: value.event,
          });
          ctx.reportFault("activity_source", error);
          return;
        }
        if (input !== undefined) recorder.record(extensionId, input);
      });
    }
    const server = ctx.useOptional(httpServerRef);
    const streams = new ActivityStreams(log, {
      heartbeatMs: ctx.config.heartbeatMs,
      maxBuffered: ctx.config.maxBuffered,
      // A dropped client is idle by definition: nothing more is written to it.
      ...(server === undefined
        ? {}
        : { closeConnection: (request: Request) => server.closeWhenIdle(request, 1) }),
    });
    ctx.onDispose(() => streams.closeAll());
    new Gauge({
      name: "dispatch_activity_streams",
      help: "Open GET /activity/stream responses",
      registers: [ctx.metrics],
      collect() {
        this.set(streams.size);
      },
    });
    ctx.setHealth(() => ({ lastId: log.lastId, streams: streams.size }));
    ctx.provide(activityRef, {
      record: (source, input) => recorder.record(source, input),
      latest: (limit = maxActivityPage) => log.latest(Math.min(Math.max(1, limit), maxActivityPage)),
    });
    ctx.provide(activityRoutesRef, activityRoutes(log, streams));
  },
});
