import { DispatchError } from "@dispatch/kernel";
import type { ApiOperation } from "@dispatch/transport-http";
import { ActivityEntry, ActivityList } from "@dispatch/wire";
import { Hono } from "hono";
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
      return streams.open(after, c.req.raw.signal);
    });
}

/** The OpenAPI entries of the activity routes (paths relative to `/activity`). */
export const activityOperations: ApiOperation[] = [
  {
    method: "get",
    path: "/",
    summary: "The newest activity entries (at most 100, `limit`), newest first, and the newest id",
    ok: { status: 200, schema: ActivityList },
    errors: [400, 401],
  },
  {
    method: "get",
    path: "/stream",
    summary:
      "Server-sent activity entries; `id:` is the entry id; resume with Last-Event-ID or ?after= (without either: new entries only)",
    ok: { status: 200, schema: ActivityEntry, contentType: "text/event-stream" },
    errors: [400, 401],
  },
];
