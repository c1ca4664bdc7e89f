import type { HostInfo } from "./context.ts";
import type { StartupProblem } from "./errors.ts";
import type { Contribution, ExtensionPoint } from "./extension-point.ts";
import type { ServiceRef } from "./service-ref.ts";

/** What an extension's `register` phase gets: its config and a way to contribute to points. */
export interface RegisterContext<C = unknown> {
  readonly id: string;
  /** The host, the same object `ctx.host` is at activation (see `perHost`). */
  readonly host: HostInfo;
  /**
   * This extension's config slice. Not available to an extension whose config schema is built from
   * contributions (it is validated after every `register` has run): reading it then throws.
   */
  readonly config: C;
  /** Adds `value` to `point`; the point's owner must be this extension or listed in `manifest.extends`. */
  contribute<T>(point: ExtensionPoint<T>, value: T): void;
  /**
   * A getter for service `ref` of this extension (listed in its `provides`), so that a contribution
   * made now can reach this extension's running state later: register runs once per host before
   * activate, and the definition is shared by every host in the process, so a closure cannot link
   * the two. The getter throws `service_unavailable` until activate provided `ref`, and after stop.
   */
  provided<T>(ref: ServiceRef<T>): () => T;
}

/** Who may contribute where: the owner of each point, and what each extension extends. */
export interface RegistrationRules {
  ownerOf(pointId: string): string | undefined;
  extendsOf(extensionId: string): readonly string[];
}

/**
 * Every contribution made during the register phase, by point. Unique keys are checked as they
 * arrive; problems are collected, never thrown, so one report names all of them.
 */
export class ContributionLedger {
  readonly #byPoint = new Map<string, Array<Contribution<unknown>>>();
  readonly #keys = new Map<string, Map<string, string>>();
  readonly problems: StartupProblem[] = [];
  readonly #rules: RegistrationRules;

  constructor(rules: RegistrationRules) {
    this.#rules = rules;
  }

  /** Records one contribution, or a problem when the contributor may not make it. */
  add<T>(extensionId: string, point: ExtensionPoint<T>, value: T): void {
    const owner = this.#rules.ownerOf(point.id);
    if (owner === undefined) {
      this.problems.push({
        extensionId,
        code: "unknown_extension_point",
        message: `extension "${extensionId}" contributes to extension point "${point.id}", which no installed extension offers`,
      });
      return;
    }
    if (owner !== extensionId && !this.#rules.extendsOf(extensionId).includes(owner)) {
      this.problems.push({
        extensionId,
        code: "undeclared_extends",
        message: `extension "${extensionId}" contributes to "${point.id}" of extension "${owner}" without listing "${owner}" in manifest.extends`,
      });
      return;
    }
    if (point.keyOf) {
      const key = point.keyOf(value);
      const seen = this.#keys.get(point.id) ?? new Map<string, string>();
      this.#keys.set(point.id, seen);
      const first = seen.get(key);
      if (first !== undefined) {
        this.problems.push({
          extensionId,
          code: "duplicate_contribution",
          message: `"${key}" is contributed to extension point "${point.id}" by both "${first}" and "${extensionId}"`,
        });
        return;
      }
      seen.set(key, extensionId);
    }
    const list = this.#byPoint.get(point.id) ?? [];
    list.push({ extensionId, value });
    this.#byPoint.set(point.id, list);
  }

  /** Every contribution to `pointId`, in the order they were made. */
  of(pointId: string): readonly Contribution<unknown>[] {
    return this.#byPoint.get(pointId) ?? [];
  }
}
