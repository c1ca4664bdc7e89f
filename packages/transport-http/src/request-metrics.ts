import { Counter, type Histogram, type Registry } from "@dispatch/kernel";
/** The duration buckets, in seconds. */
export const durationBuckets: readonly number[] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];

interface RouteSeries {
  route: string;
  method: string;
  requestsByStatus: Map<number, number>;
  /** Observations per bucket, not cumulative; the last slot is +Inf. */
  bucketCounts: number[];
  sum: number;
  count: number;
}

/**
 * The request counter and duration histogram by route pattern. Requests are counted in plain numbers
 * and handed to the registry only when it is scraped: prom-client validates and hashes the label set
 * on every `inc` and `observe`, which cost about a microsecond and a half per request through
 * Bun.serve (notes/benchmarks.md). The text it exports is the same as prom-client's own Counter and
 * Histogram would give for the same requests (request-metrics.test.ts holds it to that).
 */
export class RequestMetrics {
  readonly #series = new Map<string, RouteSeries>();

  constructor(registry: Registry) {
    const series = this.#series;
    new Counter({
      name: "dispatch_http_requests_total",
      help: "HTTP requests by route pattern, method and status",
      labelNames: ["route", "method", "status"],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of series.values()) {
          for (const [status, n] of s.requestsByStatus) {
            this.inc({ route: s.route, method: s.method, status: String(status) }, n);
          }
        }
      },
    });
    // prom-client has no way to hand a Histogram pre-counted buckets, so this is a collector of our
    // own in the shape its Registry reads (name, help, type, get, reset); `Metric` is a closed union
    // of its classes, hence the cast.
    registry.registerMetric(new DurationHistogram(series) as unknown as Histogram);
  }

  /** Counts one finished request. `route` must come from a bounded set (route patterns, not paths). */
  record(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route}`;
    let s = this.#series.get(key);
    if (s === undefined) {
      s = {
        route,
        method,
        requestsByStatus: new Map(),
        bucketCounts: new Array(durationBuckets.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      this.#series.set(key, s);
    }
    s.requestsByStatus.set(status, (s.requestsByStatus.get(status) ?? 0) + 1);
    let bucket = 0;
    while (bucket < durationBuckets.length && seconds > (durationBuckets[bucket] as number)) bucket++;
    s.bucketCounts[bucket] = (s.bucketCounts[bucket] as number) + 1;
    s.sum += seconds;
    s.count++;
  }
}

type Labels = Record<string, string | number>;

/** `dispatch_http_request_duration_seconds` as prom-client's Registry reads a metric. */
class DurationHistogram {
  readonly name = "dispatch_http_request_duration_seconds";
  readonly help = "HTTP request duration until the response headers, by route pattern";
  readonly type = "histogram";
  readonly aggregator = "sum";

  constructor(private readonly series: Map<string, RouteSeries>) {}

  async get() {
    const values: Array<{ labels: Labels; value: number; metricName: string }> = [];
    for (const s of this.series.values()) {
      const labels = { route: s.route, method: s.method };
      let cumulative = 0;
      durationBuckets.forEach((le, i) => {
        cumulative += s.bucketCounts[i] as number;
        values.push({ labels: { le, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: "+Inf", ...labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** `Registry.resetMetrics()` clears request counts too. */
  reset(): void {
    this.series.clear();
  }
}
