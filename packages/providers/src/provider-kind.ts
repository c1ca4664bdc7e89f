import { createExtensionPoint } from "@dispatch/kernel";
import type { z } from "zod";
import type { CommonProviderConfig } from "./common-config.ts";
import type { ModelProvider } from "./types.ts";

/** The environment a kind reads its keys from (`process.env` in the host; a plain object in tests). */
export type ProviderEnv = Readonly<Record<string, string | undefined>>;

/** A configured provider, built or found unusable. */
export type BuiltProvider =
  /** Ready for calls; `apiKeyEnv` names the variable its key came from, if any. */
  | { status: "available"; provider: ModelProvider; apiKeyEnv?: string }
  /**
   * Not usable, with the reason `/health` shows. With `apiKeyEnv` the reason is a missing key and a
   * call fails with `missing_key` naming it; without, a call fails with `unavailable` and the reason.
   */
  | { status: "unavailable"; reason: string; apiKeyEnv?: string };

/**
 * One configured provider of a kind whose own fields are `O`, parsed (defaults filled in): the
 * common fields, the kind's fields (which win where a kind narrows a common one, as
 * `openai-compatible` makes `baseURL` required) and `kind`.
 */
export type ProviderConfigOf<O extends z.ZodObject> = string extends keyof z.output<O>
  ? // options of no particular shape (the point's erased type): the common fields and anything else
    CommonProviderConfig & { kind: string; [field: string]: unknown }
  : Omit<CommonProviderConfig, keyof z.output<O>> & z.output<O> & { kind: string };

/**
 * A provider kind: what `providers[].kind` names. Contributed to `providerKindsPoint`; the built-in
 * kinds (`anthropic`, `openai-compatible`, `scripted`) are contributed the same way.
 */
export interface ProviderKind<O extends z.ZodObject = z.ZodObject> {
  /** The name used in `providers[].kind`; unique across every contributing extension. */
  readonly kind: string;
  /**
   * The kind's own fields, as a plain `z.object` (not strict: the entry schema is made strict once
   * the common fields are added). A field named like a common one replaces it and must only narrow
   * it (say, make it required), because the service reads the common fields.
   */
  readonly options: O;
  /**
   * Builds the provider an entry describes, at the providers extension's activation. Reads keys from
   * `env` here, once. A missing key is `unavailable`, not a throw; a throw is treated the same way,
   * with the message as the reason. Services of the contributing extension are not running yet: a
   * kind that needs one resolves it when a call is made.
   */
  create(config: ProviderConfigOf<O>, env: ProviderEnv): BuiltProvider;
}

/**
 * Identity helper that types `create`'s config from `options`, and returns the kind in the shape
 * the extension point holds.
 */
export function defineProviderKind<O extends z.ZodObject>(kind: ProviderKind<O>): ProviderKind {
  // The one widening of `create`'s parameter, and a safe one: the providers extension only ever
  // calls a kind's `create` with an entry that this kind's own entry schema (its `options` plus
  // the common fields) has parsed.
  return kind as unknown as ProviderKind;
}

/** The extension point of provider kinds, owned by the `providers` extension; unique by `kind`. */
export const providerKindsPoint = createExtensionPoint<ProviderKind>({
  id: "providers.kinds",
  keyOf: (kind) => kind.kind,
});
