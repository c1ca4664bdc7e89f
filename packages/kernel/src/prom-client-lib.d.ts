// Types for prom-client's per-class modules, which its package does not declare. Importing them
// instead of the package index skips the push gateway (http, https, zlib) and default metrics.
declare module "prom-client/lib/registry" {
  import { Registry } from "prom-client";
  export = Registry;
}
declare module "prom-client/lib/counter" {
  import { Counter } from "prom-client";
  export = Counter;
}
declare module "prom-client/lib/gauge" {
  import { Gauge } from "prom-client";
  export = Gauge;
}
declare module "prom-client/lib/histogram" {
  import { Histogram } from "prom-client";
  export = Histogram;
}
// prom-client's default-metrics collectors, one module each: `(registry, config) => void` registers
// the collector's metrics on `registry`.
declare module "prom-client/lib/metrics/processStartTime" {
  import type { Registry } from "prom-client";

  const register: (registry: Registry) => void;
  export = register;
}
declare module "prom-client/lib/metrics/osMemoryHeap" {
  import type { Registry } from "prom-client";

  const register: (registry: Registry) => void;
  export = register;
}
declare module "prom-client/lib/metrics/processOpenFileDescriptors" {
  import type { Registry } from "prom-client";

  const register: (registry: Registry) => void;
  export = register;
}
declare module "prom-client/lib/metrics/processMaxFileDescriptors" {
  import type { Registry } from "prom-client";

  const register: (registry: Registry) => void;
  export = register;
}
