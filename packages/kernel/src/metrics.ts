/**
 * The Prometheus metric classes, loaded from prom-client's per-class modules. prom-client's index also
 * loads its push gateway (http, https, zlib) and default-metrics collectors, which cost about 40 ms and
 * 12 MB at start-up and are never used here; import metric classes from `@dispatch/kernel` instead.
 * They are the very classes the index exports, so metrics made either way share a registry.
 */
// Referenced, not left to the tsconfig's include list, so a project outside this repo that type-checks
// the kernel's sources (an extension author's) gets these declarations too.
/// <reference path="./prom-client-lib.d.ts" />
import Counter from "prom-client/lib/counter";
import Gauge from "prom-client/lib/gauge";
import Histogram from "prom-client/lib/histogram";
import Registry from "prom-client/lib/registry";

export { Counter, Gauge, Histogram, Registry };
