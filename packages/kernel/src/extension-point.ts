/**
 * A typed extension point: something an extension offers so that others can add to it (provider
 * kinds, turn runners, tools, routes, store schemas). Like a service ref, the type travels with it.
 */
export interface ExtensionPoint<T> {
  readonly id: string;
  /**
   * For points whose contributions are unique by name (a provider kind, a runner id): the name of a
   * contribution. Two contributions with one name fail the graph check, naming both contributors.
   */
  keyOf?(value: T): string;
  /** Phantom field: carries `T` at the type level only; never set at run time. */
  readonly __type?: T;
}

/** One contribution as its owner reads it: the value and the extension that made it. */
export interface Contribution<T> {
  readonly extensionId: string;
  readonly value: T;
}

/** Options for `createExtensionPoint`. */
export interface ExtensionPointOptions<T> {
  id: string;
  keyOf?: (value: T) => string;
}

/** Creates a typed extension point; the owning extension lists it in its definition's `extensionPoints`. */
export function createExtensionPoint<T>(options: ExtensionPointOptions<T>): ExtensionPoint<T> {
  return Object.freeze({ id: options.id, ...(options.keyOf ? { keyOf: options.keyOf } : {}) });
}

/** Reads the contributions to points an extension owns. */
export interface ContributionReader {
  /**
   * The contributions to `point` from extensions that are not disabled, failed or skipped, in
   * activation order. Throws `not_point_owner` for a point this extension does not own.
   */
  contributions<T>(point: ExtensionPoint<T>): readonly Contribution<T>[];
}
