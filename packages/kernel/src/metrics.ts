/**
 * The one way into prom-client for every package: import metric classes and types from
 * `@dispatch/kernel`, never from `prom-client` itself (biome's `noRestrictedImports` holds everyone to
 * it). They are loaded from prom-client's per-class modules because its index also loads the push
 * gateway (http, https, zlib) and the default-metrics collectors, about 80 ms of start-up here
 * (notes/benchmarks.md) for nothing we use. They are the very classes the index exports, so metrics
 * made either way share a registry.
 */
// Referenced, not left to the tsconfig's include list, so a project outside this repo that type-checks
// the kernel's sources (an extension author's) gets these declarations too.
/// <reference path="./prom-client-lib.d.ts" />
import Counter from "prom-client/lib/counter";
import Gauge from "prom-client/lib/gauge";
import Histogram from "prom-client/lib/histogram";
import Registry from "prom-client/lib/registry";

export { Counter, Gauge, Histogram, Registry };
