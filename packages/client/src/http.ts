import { DispatchApiError, errorFromResponse, networkError } from "./errors.js";

/** Options of `createClient`. */
export interface ClientOptions {
  /** The host's address, e.g. `http://127.0.0.1:7878` (a trailing slash is fine). */
  baseUrl: string;
  /** The host's token (`server.token` / `DISPATCH_TOKEN`), sent as `Authorization: Bearer`. */
  token?: string;
  /** The fetch to use; the global one by default (Node 18+, Bun, browsers). */
  fetch?: typeof fetch;
  /** Headers sent with every request (an `X-Request-Id` of yours, for example). */
  headers?: Record<string, string>;
}

/** What one call can add: an abort signal, and headers of its own. */
export interface CallOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** A request: the method, the path below the base URL, query parameters and a JSON body. */
export interface RequestSpec extends CallOptions {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
}

/** Sends requests to one host: the URL, the token, JSON in and out, and errors as DispatchApiError. */
export class HttpTransport {
  readonly #base: string;
  readonly #fetch: typeof fetch;
  readonly #headers: Record<string, string>;

  constructor(options: ClientOptions) {
    if (typeof options.baseUrl !== "string" || !/^https?:\/\//.test(options.baseUrl)) {
      throw new TypeError(`Expected \`baseUrl\` to be an http(s) URL, got \`${String(options.baseUrl)}\``);
    }
    this.#base = options.baseUrl.replace(/\/+$/, "");
    const given = options.fetch ?? globalThis.fetch;
    if (typeof given !== "function") throw new TypeError("no fetch: pass `fetch` in the client options");
    this.#fetch = given;
    this.#headers = {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    };
  }

  /** The absolute URL of `path` with `query` (undefined values left out). */
  url(path: string, query?: RequestSpec["query"]): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {}))
      if (value !== undefined) params.set(key, String(value));
    const search = params.toString();
    return `${this.#base}${path}${search === "" ? "" : `?${search}`}`;
  }

  /** Sends `spec`; resolves to the answer when it is 2xx, else throws its DispatchApiError. */
  async send(spec: RequestSpec): Promise<Response> {
    const headers: Record<string, string> = { ...this.#headers, ...spec.headers };
    let body: string | undefined;
    if (spec.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(spec.body);
    }
    let res: Response;
    try {
      res = await this.#fetch(this.url(spec.path, spec.query), {
        method: spec.method,
        headers,
        body,
        signal: spec.signal,
      });
    } catch (error) {
      throw networkError(error, spec.signal);
    }
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }

  /** Sends `spec` and reads the JSON answer (`undefined` for 204). */
  async json<T>(spec: RequestSpec): Promise<T> {
    const res = await this.send(spec);
    if (res.status === 204) return undefined as T;
    try {
      return (await res.json()) as T;
    } catch (error) {
      throw new DispatchApiError(res.status, "invalid_response", "the host's answer is not JSON", {
        cause: error,
        requestId: res.headers.get("x-request-id") ?? undefined,
      });
    }
  }
}
