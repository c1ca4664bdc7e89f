import { apiSchemaNames, ErrorBody, errorStatus } from "@dispatch/wire";
import { z } from "zod";
import type { Operation } from "./openapi.ts";

type Json = Record<string, unknown>;

/** Options of `openApiDocument`. */
export interface OpenApiOptions {
  /** `servers[0].url`: where the document was fetched from, or the default address for a saved copy. */
  serverUrl?: string;
}

/** The name and description of each error status's shared response in `components.responses`. */
const errorResponses: Record<number, { name: string; description: string }> = {
  400: { name: "BadRequest", description: "invalid_request: a malformed or invalid request" },
  401: {
    name: "Unauthorized",
    description: "unauthorized: a token is configured and none or a wrong one was sent",
  },
  403: {
    name: "Forbidden",
    description:
      "forbidden: the Host or Origin header is not allowed (see server.allowedHosts, server.corsOrigins)",
  },
  404: { name: "NotFound", description: "not_found: no such resource" },
  405: {
    name: "MethodNotAllowed",
    description: "method_not_allowed: the path exists but not with this method; `Allow` lists those it has",
  },
  409: { name: "Conflict", description: "conflict or conversation_busy" },
  413: { name: "PayloadTooLarge", description: "payload_too_large: the body is over server.bodyLimitBytes" },
  415: {
    name: "UnsupportedMediaType",
    description: "unsupported_media_type: send JSON with its Content-Type",
  },
  429: { name: "TooManyRequests", description: "queue_full or budget_exceeded" },
  500: { name: "InternalError", description: "internal: see the server log for the request id" },
  502: { name: "BadGateway", description: "a remote host refused us (SSH authentication or host key)" },
  503: {
    name: "Unavailable",
    description: "memory_pressure, shutting_down or a provider queue that is full",
  },
  504: { name: "Timeout", description: "a remote host or a provider did not answer in time" },
};

/** What every operation may answer besides its own errors. */
const commonErrors = [403, 405, 500];
/** What every operation with a JSON body may answer (the edge and `jsonBody`). */
const bodyErrors = [400, 413, 415];

const requestIdHeader = {
  description:
    "The request's id: the caller's `X-Request-Id` when it matches `[\\w.:-]{1,128}`, else one of ours",
  schema: { type: "string" },
};

const pascal = (words: string[]) => words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");

/** `get /tasks/{id}/cancel` → `getTasksIdCancel`, for an operation that names none. */
function defaultOperationId(op: Operation): string {
  const words = op.path.split(/[^A-Za-z0-9]+/).filter((w) => w !== "");
  return `${op.method}${pascal(words)}`;
}

/** Strips what a JSON Schema document carries but an OpenAPI component must not (`$schema`, `$id`). */
function asComponent(schema: Json): Json {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

/**
 * Names every schema an operation uses and converts them together, so that a schema used in many
 * places (or inside another) is one `$ref` to `#/components/schemas/<Name>`. Request bodies are
 * converted as input (defaults make a field optional), everything else as output.
 */
class SchemaCatalog {
  readonly #output = z.registry<{ id: string }>();
  readonly #input = z.registry<{ id: string }>();
  readonly #names = new Map<z.ZodType, string>();
  readonly #taken = new Set<string>();

  constructor() {
    // The API's own named schemas are registered whether used or not (unused ones are pruned), so that
    // one nested in another is a $ref too.
    for (const [schema, name] of apiSchemaNames) this.#register(this.#output, schema, name);
  }

  /** The `$ref` for a response (or other output) schema, naming it `fallback` when it has no name. */
  output(schema: z.ZodType, fallback: string): Json {
    return this.#ref(this.#output, schema, fallback);
  }

  /** The `$ref` for a request body schema. */
  input(schema: z.ZodType, fallback: string): Json {
    return this.#ref(this.#input, schema, fallback);
  }

  #ref(registry: z.core.$ZodRegistry<{ id: string }>, schema: z.ZodType, fallback: string): Json {
    const known = this.#names.get(schema);
    if (known !== undefined && registry.has(schema)) return { $ref: `#/components/schemas/${known}` };
    const own = z.globalRegistry.get(schema)?.id;
    const name = this.#register(registry, schema, apiSchemaNames.get(schema) ?? own ?? fallback);
    return { $ref: `#/components/schemas/${name}` };
  }

  #register(registry: z.core.$ZodRegistry<{ id: string }>, schema: z.ZodType, wanted: string): string {
    let name = wanted;
    for (let n = 2; this.#taken.has(name) && this.#names.get(schema) !== name; n++) name = `${wanted}${n}`;
    this.#taken.add(name);
    this.#names.set(schema, name);
    registry.add(schema, { id: name });
    return name;
  }

  /** Every registered schema as OpenAPI components, with discriminators on unions of named members. */
  components(): Record<string, Json> {
    const out: Record<string, Json> = {};
    const convert = (registry: z.core.$ZodRegistry<{ id: string }>, io: "input" | "output") => {
      const { schemas } = z.toJSONSchema(registry, {
        target: "draft-2020-12",
        io,
        unrepresentable: "any",
        uri: (id) => `#/components/schemas/${id}`,
      }) as { schemas: Record<string, Json> };
      for (const [name, schema] of Object.entries(schemas)) out[name] = asComponent(schema);
    };
    convert(this.#output, "output");
    convert(this.#input, "input");
    for (const [schema, name] of this.#names) {
      const discriminator = discriminatorOf(schema, this.#names);
      const component = out[name];
      if (discriminator !== undefined && component !== undefined) component.discriminator = discriminator;
    }
    return out;
  }
}

/**
 * `{propertyName, mapping}` for a zod discriminated union whose members all have names (the SSE
 * event union): a generated client then narrows on `type`.
 */
function discriminatorOf(schema: z.ZodType, names: ReadonlyMap<z.ZodType, string>): Json | undefined {
  if (!(schema instanceof z.ZodDiscriminatedUnion)) return undefined;
  const key = schema.def.discriminator;
  const mapping: Record<string, string> = {};
  for (const option of schema.options as z.ZodType[]) {
    const name = names.get(option);
    if (!(option instanceof z.ZodObject) || name === undefined) return undefined;
    const tag = option.shape[key];
    if (!(tag instanceof z.ZodLiteral) || typeof tag.value !== "string") return undefined;
    mapping[tag.value] = `#/components/schemas/${name}`;
  }
  return { propertyName: key, mapping };
}

/** The parameters of an object schema (`in: query` or `in: header`), each with its description. */
function parametersOf(place: "query" | "header", schema: z.ZodObject | undefined): Json[] {
  if (schema === undefined) return [];
  return Object.entries(schema.shape).map(([name, field]) => {
    const fieldSchema = field as z.ZodType;
    const json = asComponent(
      z.toJSONSchema(fieldSchema, { target: "draft-2020-12", io: "input", unrepresentable: "any" }) as Json,
    );
    const { description, ...rest } = json;
    return {
      name,
      in: place,
      required: !fieldSchema.safeParse(undefined).success,
      ...(typeof description === "string" ? { description } : {}),
      schema: rest,
    };
  });
}

/** Every `$ref` in `value`, to prune components nothing uses. */
function refsIn(value: unknown, found: Set<string>): void {
  if (Array.isArray(value)) for (const item of value) refsIn(item, found);
  else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key === "$ref" && typeof item === "string") found.add(item.slice(item.lastIndexOf("/") + 1));
      else refsIn(item, found);
    }
  }
}

/** The schemas reachable from `roots` through `$ref`s. */
function reachable(roots: unknown, schemas: Record<string, Json>): Record<string, Json> {
  const seen = new Set<string>();
  const queue = new Set<string>();
  refsIn(roots, queue);
  for (const name of queue) {
    if (seen.has(name)) continue;
    seen.add(name);
    refsIn(schemas[name], queue);
  }
  return Object.fromEntries(Object.entries(schemas).filter(([name]) => seen.has(name)));
}

/** Codes of the error table that answer with `status`, for the response's description. */
function codesOf(status: number): string[] {
  return Object.entries(errorStatus)
    .filter(([, s]) => s === status)
    .map(([code]) => code);
}

/** Builds the OpenAPI 3.1 document from `ops` (the core `operations` and every contributed route's). */
export function openApiDocument(
  version: string,
  ops: readonly Operation[],
  options: OpenApiOptions = {},
): Json {
  const catalog = new SchemaCatalog();
  const paths: Record<string, Record<string, unknown>> = {};
  const usedIds = new Set<string>();
  const usedErrors = new Set<number>();
  const tags = new Set<string>();

  for (const op of ops) {
    let operationId = op.operationId ?? defaultOperationId(op);
    for (let n = 2; usedIds.has(operationId); n++)
      operationId = `${op.operationId ?? defaultOperationId(op)}${n}`;
    usedIds.add(operationId);
    const id = pascal([operationId]);
    const tag = op.path.split("/")[1]?.replace(/\..*$/, "") || "root";
    tags.add(tag);

    const ok: Json = {
      description: op.ok.description ?? "OK",
      headers: { "X-Request-Id": { $ref: "#/components/headers/XRequestId" } },
    };
    if (op.ok.schema !== undefined || op.ok.contentType !== undefined) {
      const schema =
        op.ok.schema === undefined ? {} : { schema: catalog.output(op.ok.schema, `${id}Response`) };
      ok.content = { [op.ok.contentType ?? "application/json"]: schema };
    }
    const responses: Record<string, unknown> = { [op.ok.status]: ok };
    const auth = op.auth !== false;
    const statuses = new Set([
      ...op.errors,
      ...commonErrors,
      ...(auth ? [401] : []),
      ...(op.body === undefined ? [] : bodyErrors),
    ]);
    for (const status of [...statuses].sort()) {
      usedErrors.add(status);
      responses[status] = {
        $ref: `#/components/responses/${errorResponses[status]?.name ?? `Status${status}`}`,
      };
    }

    const parameters = [
      ...[...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
        name: m[1],
        in: "path",
        required: true,
        schema: { type: "string" },
      })),
      ...parametersOf("query", op.query),
      ...parametersOf("header", op.headers),
      { $ref: "#/components/parameters/XRequestId" },
    ];

    paths[op.path] = {
      ...paths[op.path],
      [op.method]: {
        operationId,
        summary: op.summary,
        ...(op.description === undefined ? {} : { description: op.description }),
        tags: [tag],
        ...(auth ? {} : { security: [] }),
        parameters,
        ...(op.body
          ? {
              requestBody: {
                required: true,
                content: { "application/json": { schema: catalog.input(op.body, `${id}Body`) } },
              },
            }
          : {}),
        responses,
      },
    };
  }

  const responses: Record<string, unknown> = {};
  for (const status of [...usedErrors].sort()) {
    const known = errorResponses[status];
    const codes = codesOf(status);
    responses[known?.name ?? `Status${status}`] = {
      description: `${known?.description ?? `HTTP ${status}`}${codes.length > 0 ? ` (codes: ${codes.join(", ")})` : ""}`,
      headers: {
        "X-Request-Id": { $ref: "#/components/headers/XRequestId" },
        ...(status === 405
          ? { Allow: { description: "The methods the path answers", schema: { type: "string" } } }
          : {}),
      },
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    };
  }
  const errorRef = catalog.output(ErrorBody, "Error");
  const document: Json = {
    openapi: "3.1.0",
    info: {
      title: "Dispatch",
      version,
      description:
        'The HTTP API of a Dispatch agent host. JSON everywhere; errors are `{"error":{"code","message","details?"}}`. With `server.token` set, every route but `/health` needs `Authorization: Bearer <token>`.',
    },
    servers: [{ url: options.serverUrl ?? "http://127.0.0.1:7878" }],
    tags: [...tags].map((name) => ({ name })),
    security: [{ bearer: [] }],
    paths,
    components: {},
  };
  const schemas = catalog.components();
  document.components = {
    schemas: reachable([paths, responses, errorRef], schemas),
    responses,
    parameters: {
      XRequestId: { name: "X-Request-Id", in: "header", required: false, ...requestIdHeader },
    },
    headers: { XRequestId: requestIdHeader },
    securitySchemes: {
      bearer: { type: "http", scheme: "bearer", description: "`server.token` (or DISPATCH_TOKEN)" },
    },
  };
  return document;
}
