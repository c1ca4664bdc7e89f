import { z } from "zod";
import type { ExtensionContext } from "./context.ts";
import type { ContributionReader, ExtensionPoint } from "./extension-point.ts";
import type { RegisterContext } from "./registration.ts";
import type { ServiceRef } from "./service-ref.ts";

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be a lowercase slug (a-z, 0-9, -)");
const semver = z
  .string()
  .regex(
    /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/,
    "must be a semver version such as 1.2.3",
  );

/** The manifest schema; checked before any extension code runs. */
export const manifestSchema = z
  .object({
    id: slug,
    version: semver,
    dependsOn: z.array(slug).default([]),
    optionalDependsOn: z.array(slug).default([]),
    /** Extensions whose extension points this one contributes to; it activates after each of them. */
    extends: z.array(slug).default([]),
    critical: z.boolean().default(false),
  })
  .strict();

/** What an extension declares about itself. */
export type ExtensionManifest = z.output<typeof manifestSchema>;
/** The manifest as an author writes it (lists may be omitted). */
export type ExtensionManifestInput = z.input<typeof manifestSchema>;

/**
 * The config slice an extension owns: a top-level key of the host config and its schema. The schema
 * may be built from the contributions to the extension's own points (for example one entry per
 * contributed provider kind); it is then validated after every `register` has run.
 */
export interface ExtensionConfigSpec<C> {
  key: string;
  schema: z.ZodType<C> | ((points: ContributionReader) => z.ZodType<C>);
}

/** An extension as the host loads it. */
export interface ExtensionDefinition<C = unknown> {
  manifest: ExtensionManifestInput;
  /** Services this extension provides with `ctx.provide`; known before activation so the graph can be checked. */
  provides?: readonly ServiceRef<unknown>[];
  /** Extension points this extension offers; others contribute to them in their `register` phase. */
  extensionPoints?: readonly ExtensionPoint<unknown>[];
  /**
   * Services this extension will `ctx.use`; the graph check refuses one whose provider is not in
   * `dependsOn`/`optionalDependsOn` before anything runs, and `ctx.use` of an unlisted ref throws.
   */
  consumes?: readonly ServiceRef<unknown>[];
  config?: ExtensionConfigSpec<C>;
  /**
   * Runs before any extension activates: contributes to extension points. Must be pure (no I/O, no
   * timers); anything that needs a running service is resolved when the contribution is used.
   */
  register?(reg: RegisterContext<C>): void;
  activate(ctx: ExtensionContext<C>): void | Promise<void>;
  deactivate?(): void | Promise<void>;
}

/** Identity helper that types `activate`'s context from the config schema. */
export function defineExtension<C = undefined>(definition: ExtensionDefinition<C>): ExtensionDefinition<C> {
  return definition;
}

/** A definition whose config type is erased, so lists of extensions can be mixed. */
// biome-ignore lint/suspicious/noExplicitAny: the config type is checked per extension at definition time
export type AnyExtension = ExtensionDefinition<any>;
