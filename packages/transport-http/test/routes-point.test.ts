import { afterEach, describe, expect, test } from "bun:test";
import { type AnyExtension, createServiceRef, defineExtension, StartupError } from "@dispatch/kernel";
import { Hono } from "hono";
import { z } from "zod";
import { jsonBody } from "../src/middleware/json-body.ts";
import { httpRoutesPoint } from "../src/routes-point.ts";
import { type ApiHarness, startApi } from "./harness.ts";

const token = "s3cret-token-for-tests-only";
const Tally = z.object({ name: z.string(), count: z.number().int() });
const AddBody = z.object({ by: z.number().int().min(1) }).strict();

interface TallyOptions {
  id?: string;
  path?: string;
  failActivation?: boolean;
  failWhenReady?: boolean;
  /** Replaces the route under the mount path (for clashes with the core routes). */
  route?: string;
}

/**
 * An outside extension that contributes `GET <path>` and `POST <path>/add`, with their OpenAPI
 * entries; the routes read its running state through a factory called after it activated.
 */
function tally(options: TallyOptions = {}): AnyExtension {
  const id = options.id ?? "tally";
  // what the extension keeps while it runs
  const tallyRef = createServiceRef<{ count: number }>(`test.${id}`);
  return defineExtension({
    manifest: { id, version: "1.0.0", extends: ["transport-http"] },
    provides: [tallyRef],
    register(reg) {
      const state = reg.provided(tallyRef);
      reg.contribute(httpRoutesPoint, {
        path: options.path ?? "/tally",
        routes: () =>
          new Hono()
            .get(options.route ?? "/", (c) => c.json({ name: id, count: state().count }))
            .post("/add", jsonBody(AddBody), (c) => {
              state().count += c.req.valid("json").by;
              return c.json({ name: id, count: state().count });
            }),
        openapi: [
          {
            method: "get",
            path: "/",
            summary: "The tally",
            ok: { status: 200, schema: Tally },
            errors: [401],
          },
          {
            method: "post",
            path: "/add",
            summary: "Add to the tally",
            body: AddBody,
            ok: { status: 200, schema: Tally },
            errors: [400, 401],
          },
        ],
      });
    },
    activate(ctx) {
      if (options.failActivation) throw new Error("tally cannot start");
      ctx.provide(tallyRef, { count: 0 });
      if (options.failWhenReady) {
        ctx.onReady(() => {
          throw new Error("tally broke when ready");
        });
      }
    },
  });
}

interface OpenApiDoc {
  paths: Record<
    string,
    Record<string, { summary: string; requestBody?: unknown; responses: Record<string, unknown> }>
  >;
  components: { schemas: Record<string, unknown> };
}

let api: ApiHarness | undefined;
afterEach(async () => {
  await api?.stop();
  api = undefined;
});

async function startupProblems(extra: AnyExtension[]): Promise<Array<{ code: string; message: string }>> {
  try {
    api = await startApi({}, extra);
  } catch (error) {
    expect(error).toBeInstanceOf(StartupError);
    return (error as StartupError).problems.map(({ code, message }) => ({ code, message }));
  }
  throw new Error("expected start-up to fail");
}

describe("the HTTP routes extension point", () => {
  test("a contributed route answers behind the same middleware and is in /openapi.json with its schemas", async () => {
    api = await startApi({ server: { token } }, [tally()]);
    expect((await fetch(`${api.url}/tally`)).status).toBe(401);
    expect(await (await api.fetch("/tally")).json()).toEqual({ name: "tally", count: 0 });
    const added = await api.fetch("/tally/add", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ by: 2 }),
    });
    expect(await added.json()).toEqual({ name: "tally", count: 2 });
    const refused = await api.fetch("/tally/add", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ by: 0 }),
    });
    expect(refused.status).toBe(400);
    expect((await api.fetch("/tally/nowhere")).status).toBe(404);

    const doc = (await (await api.fetch("/openapi.json")).json()) as OpenApiDoc;
    expect(doc.paths["/tally"]?.get?.summary).toBe("The tally");
    // an extension's unnamed schemas become components named after their operations
    expect(doc.paths["/tally"]?.get?.responses["200"]).toMatchObject({
      content: { "application/json": { schema: { $ref: "#/components/schemas/GetTallyResponse" } } },
    });
    expect(doc.components.schemas.GetTallyResponse).toMatchObject({
      properties: { count: { type: "integer" } },
    });
    expect(doc.paths["/tally/add"]?.post?.requestBody).toMatchObject({
      content: { "application/json": { schema: { $ref: "#/components/schemas/PostTallyAddBody" } } },
    });
    expect(doc.components.schemas.PostTallyAddBody).toMatchObject({ required: ["by"] });
    // the core routes come through the same point
    expect(doc.paths["/workspaces"]?.get?.summary).toBeDefined();
    expect(doc.paths["/openapi.json"]?.get).toBeDefined();
  });

  test("two contributors of one mount path fail the check, naming both, before anything runs", async () => {
    expect(await startupProblems([tally({ id: "one" }), tally({ id: "two" })])).toEqual([
      {
        code: "duplicate_contribution",
        message: '"/tally" is contributed to extension point "transport-http.routes" by both "one" and "two"',
      },
    ]);
  });

  test("a contributor that failed to activate has no route and no OpenAPI entry; the host runs on", async () => {
    api = await startApi({}, [tally({ failActivation: true })]);
    const res = await api.fetch("/tally");
    expect(res.status).toBe(404);
    const doc = (await (await api.fetch("/openapi.json")).json()) as OpenApiDoc;
    expect(doc.paths["/tally"]).toBeUndefined();
    expect(doc.paths["/workspaces"]).toBeDefined();
  });

  test("a contributor that fails once the routes are mounted loses them", async () => {
    api = await startApi({}, [tally({ failWhenReady: true })]);
    const state = api.testHost.host.status().extensions.find((e) => e.id === "tally")?.state;
    expect(state).toBe("failed");
    const res = await api.fetch("/tally");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      'the routes under /tally are gone: extension "tally" is no longer running',
    );
    const doc = (await (await api.fetch("/openapi.json")).json()) as OpenApiDoc;
    expect(doc.paths["/tally"]).toBeUndefined();
  });

  test("a route that another contribution already answers stops start-up, naming both", async () => {
    const problems = await startupProblems([tally({ path: "/workspaces", route: "/:name" })]);
    expect(problems).toEqual([
      {
        code: "activation_failed",
        message:
          'activation failed: GET /workspaces/:name is answered by both extension "transport-http" and extension "tally" (routes at /workspaces)',
      },
    ]);
  });

  test("a mount path may hold a :param segment: its routes read it, and OpenAPI names it {param}", async () => {
    const nested = defineExtension({
      manifest: { id: "nested", version: "1.0.0", extends: ["transport-http"] },
      register(reg) {
        reg.contribute(httpRoutesPoint, {
          path: "/workspaces/:id/notes",
          routes: new Hono().get("/:note", (c) =>
            c.json({ id: c.req.param("id"), note: c.req.param("note") }),
          ),
          openapi: [
            { method: "get", path: "/{note}", summary: "A note", ok: { status: 200 }, errors: [404] },
          ],
        });
      },
      activate() {},
    });
    api = await startApi({}, [nested]);
    expect(await (await api.fetch("/workspaces/default/notes/first")).json()).toEqual({
      id: "default",
      note: "first",
    });
    const doc = (await (await api.fetch("/openapi.json")).json()) as OpenApiDoc;
    expect(doc.paths["/workspaces/{id}/notes/{note}"]?.get?.summary).toBe("A note");
    // the core's own /workspaces/:id routes still answer
    expect((await api.fetch("/workspaces/default")).status).toBe(200);
  });

  test("a bad mount path stops start-up, naming the contributor", async () => {
    const [problem] = await startupProblems([tally({ path: "/tally/" })]);
    expect(problem?.message).toStartWith(
      'activation failed: extension "tally" (routes at /tally/): the mount path must be',
    );
  });
});
