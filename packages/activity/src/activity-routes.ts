import { DispatchError } from "@dispatch/kernel";
import type { ApiOperation } from "@dispatch/transport-http";
import { ActivityEntry, ActivityList } from "@dispatch/wire";
import { Hono } from "hono";
import { z } from "zod";
import { type ActivityLog, parseActivityId } from "./activity-log.ts";
import type { ActivityStreams } from "./activity-streams.ts";

/** The most entries `GET /activity` answers with. */
export const maxActivityPage = 100;

/** The resume point: `Last-Event-ID` wins over `?after=`; both must be activity ids. */
function resumeAfter(header: string | undefined, query: string | undefined) {
  const raw = (header ?? query)?.trim();
  if (raw === undefined || raw === "") return undefined;
  const id = parseActivityId(raw);
  if (id === undefined) {
    throw new DispatchError(
      "invalid_request",
      "Last-Event-ID / after must be an activity id such as `m3x9k2.17`",
      {
        details: { field: "after" },
      },
    );
  }
  return id;
}

/** `GET /activity` and `GET /activity/stream`, mounted at `/activity`. */
export function activityRoutes(log: ActivityLog, streams: ActivityStreams) {
  return new Hono()
    .get("/", (c) => {
      const raw = c.req.query("limit");
      const limit = raw === undefined ? maxActivityPage : Number(raw);
      if (!Number.isInteger(limit) || limit < 1 || limit > maxActivityPage) {
        throw new DispatchError("invalid_request", `limit must be an integer from 1 to ${maxActivityPage}`, {
          details: { field: "limit" },
        });
      }
      const body: ActivityList = { entries: log.latest(limit), lastId: log.lastId };
      return c.json(body);
    })
    .get("/stream", (c) => {
      const after = resumeAfter(c.req.header("last-event-id"), c.req.query("after"));
      return streams.open(after, c.req.raw);
    });
}

/** The OpenAPI entries of the activity routes (paths relative to `/activity`). */
export const activityOperations: ApiOperation[] = [
  {
    method: "get",
    path: "/",
    operationId: "listActivity",
    summary: "The newest activity entries, newest first (a copy), and the newest id",
    query: z.object({
      limit: z
        .number()
        .int()
        .min(1)
        .max(maxActivityPage)
        .optional()
        .describe("At most this many (default 100)"),
    }),
    ok: { status: 200, schema: ActivityList },
    errors: [400],
  },
  {
    method: "get",
    path: "/stream",
    operationId: "streamActivity",
    summary: "New activity entries as server-sent events",
    description: [
      "Each entry is one SSE message: `id:` is its id (`<boot>.<n>`), `data:` its JSON. Resume with",
      "`Last-Event-ID` or `?after=` set to the last id seen: the entries after it that the host still",
      "keeps come first, then live ones (an id of an earlier host process gets everything kept).",
      "Without either, only entries from now on. `: heartbeat` comments keep it open; `: closed",
      "slow_consumer` ends a client that fell too far behind.",
    ].join(" "),
    query: z.object({ after: z.string().optional().describe("The last entry id seen, such as `m3x9k2.17`") }),
    headers: z.object({
      "Last-Event-ID": z
        .string()
        .optional()
        .describe("The last entry id seen (what EventSource sends when it reconnects)"),
    }),
    ok: { status: 200, schema: ActivityEntry, contentType: "text/event-stream" },
    errors: [400],
  },
];
