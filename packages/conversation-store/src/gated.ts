import type { StoreDatabase } from "./store-database.ts";

/**
 * A view of `repository` whose every method runs through `db.gate`: a call made while another async
 * context's `store.transaction` holds the connection waits for it to end instead of reading its
 * uncommitted rows or landing inside it. Costs one closure call when no transaction is open.
 */
export function gated<R extends object>(db: StoreDatabase, repository: R): R {
  const view: Record<string, unknown> = {};
  for (const name of methodNames(repository)) {
    const method = Reflect.get(repository, name) as (...args: unknown[]) => unknown;
    view[name] = (...args: unknown[]) => db.gate(() => method.apply(repository, args));
  }
  // Getters (such as `maxTextBytes`) read through to the repository; they touch no rows.
  for (const name of getterNames(repository)) {
    Object.defineProperty(view, name, { get: () => Reflect.get(repository, name), enumerable: true });
  }
  // The view has exactly the repository's methods; every one returns a promise, as the contract's do,
  // so a call that waited (and returns a promise) keeps its type.
  return view as R;
}

/** The public getters of a class instance, along its prototype chain. */
function getterNames(instance: object): string[] {
  const names = new Set<string>();
  for (let proto = Object.getPrototypeOf(instance); proto && proto !== Object.prototype; ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (Object.getOwnPropertyDescriptor(proto, name)?.get !== undefined) names.add(name);
    }
    proto = Object.getPrototypeOf(proto);
  }
  // own data fields (`readonly maxTextBytes = …`) too
  for (const name of Object.keys(instance))
    if (typeof Reflect.get(instance, name) !== "function") names.add(name);
  return [...names];
}

/** The public methods of a class instance, along its prototype chain. */
function methodNames(instance: object): string[] {
  const names = new Set<string>();
  for (let proto = Object.getPrototypeOf(instance); proto && proto !== Object.prototype; ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      // Only plain methods: reading a getter off the prototype would run it on the wrong receiver.
      const value = Object.getOwnPropertyDescriptor(proto, name)?.value;
      if (name !== "constructor" && typeof value === "function") names.add(name);
    }
    proto = Object.getPrototypeOf(proto);
  }
  return [...names];
}
