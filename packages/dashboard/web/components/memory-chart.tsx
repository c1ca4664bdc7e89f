import type { MemoryHistory } from "@dispatch/wire";
import { bytes, clock } from "../format.ts";

const width = 600;
const height = 180;
const hourMs = 3_600_000;

/**
 * The last hour of memory as an SVG line chart (RSS and heap used), with the limit and the shed
 * line when there is a limit; with less than an hour of samples it spans from the first one. Its
 * label says in words what it shows.
 */
export function MemoryChart(props: { history: MemoryHistory }) {
  const { samples, limitBytes, shedRatio } = props.history;
  if (samples.length === 0) return <p class="muted">No samples yet.</p>;
  const now = Date.now();
  const from = Math.min(now - 60_000, Math.max(now - hourMs, Date.parse(samples[0]!.at)));
  const peak = Math.max(...samples.map((s) => s.rssBytes));
  const top = Math.max(peak, limitBytes ?? 0) * 1.1;
  const x = (at: string) => ((Date.parse(at) - from) / (now - from)) * width;
  const y = (value: number) => height - (value / top) * height;
  const line = (pick: (s: (typeof samples)[number]) => number) =>
    samples.map((s) => `${x(s.at).toFixed(1)},${y(pick(s)).toFixed(1)}`).join(" ");
  const last = samples.at(-1)!;
  const label =
    `Memory over the last hour: RSS now ${bytes(last.rssBytes)}, peak ${bytes(peak)}, heap used ${bytes(last.heapUsedBytes)}` +
    (limitBytes === null ? ", no limit." : `, limit ${bytes(limitBytes)}.`);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label} preserveAspectRatio="none">
        {limitBytes !== null && (
          <>
            <line class="limit" x1={0} x2={width} y1={y(limitBytes)} y2={y(limitBytes)} />
            <line
              class="shed"
              x1={0}
              x2={width}
              y1={y(limitBytes * shedRatio)}
              y2={y(limitBytes * shedRatio)}
            />
          </>
        )}
        <polyline class="rss" points={line((s) => s.rssBytes)} />
        <polyline class="heap" points={line((s) => s.heapUsedBytes)} />
      </svg>
      <figcaption>
        <span class="key rss">RSS {bytes(last.rssBytes)}</span>{" "}
        <span class="key heap">heap used {bytes(last.heapUsedBytes)}</span>{" "}
        {limitBytes !== null && <span class="key limit">limit {bytes(limitBytes)}</span>}{" "}
        <span class="muted">
          ({samples.length} samples since {clock(new Date(from).toISOString())})
        </span>
      </figcaption>
    </figure>
  );
}
