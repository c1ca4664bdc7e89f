/**
 * A typed token for a service. The type parameter travels with the ref, so `ctx.use(ref)` returns
 * the implementation's type without a string lookup or a cast.
 */
export interface ServiceRef<T> {
  readonly id: string;
  /** Phantom field: carries `T` at the type level only; never set at run time. */
  readonly __type?: T;
}

/** Creates a typed service token; `id` is the service's name in error messages. */
export function createServiceRef<T>(id: string): ServiceRef<T> {
  return Object.freeze({ id });
}
