import { expect, test } from "bun:test";
import { seededRandom } from "./seeded-random.ts";
import { StreamHarness } from "./stream-harness.ts";

const operations = 100_000;
const providers = ["a", "b", "c"];
const workspaces = ["w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7"];

test(`chaos: ${operations} random operations end with no lease held and none reclaimed`, async () => {
  const seed = Number(process.env.CHAOS_SEED ?? 20261122);
  const next = seededRandom(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pickOf = <T>(list: readonly T[]) => list[int(list.length)] as T;
  const h = new StreamHarness({ providers, agingMs: 2_000, maxQueue: 60, honoursSignal: true });
  const ignoring = new StreamHarness({ providers, agingMs: 2_000, maxQueue: 60, honoursSignal: false });
  for (let i = 0; i < operations; i++) {
    // Half the run against a provider that ignores its abort signal.
    const run = i % 2 === 0 ? h : ignoring;
    const r = next();
    if (r < 0.3) {
      if (run.active < 400) run.start(pickOf(providers), pickOf(workspaces), int(4_000));
    } else if (r < 0.55) run.emit(int(1_000));
    else if (r < 0.67) run.end(int(1_000));
    else if (r < 0.72) run.fail(int(1_000));
    else if (r < 0.77) run.breakEarly(int(1_000));
    else if (r < 0.85) run.abort(int(1_000));
    else if (r < 0.91) run.setStarred(pickOf(workspaces), next() < 0.5);
    else if (r < 0.94) run.setLimit(pickOf(providers), 1 + int(4));
    else if (r < 0.98) run.advance(1 + int(200));
    else run.pause(pickOf(providers), 1 + int(500));
    await run.settle();
    if (run.problems.length > 0) break;
  }
  for (const run of [h, ignoring]) {
    await run.finish();
    expect({ seed, problems: run.problems.slice(0, 5) }).toEqual({ seed, problems: [] });
    expect(run.active).toBe(0);
    expect(run.manager.leaseCount).toBe(0);
    expect(
      run.manager.stats().every((s) => s.inFlight === 0 && s.queuedStarred + s.queuedUnstarred === 0),
    ).toBe(true);
    expect(run.counts.reclaimed).toBe(0);
    expect(run.counts.stalled).toBe(0);
    // Not vacuous: the run granted, queued and refused a great deal.
    expect(run.counts.grants).toBeGreaterThan(5_000);
    expect(run.counts.queued).toBeGreaterThan(1_000);
    expect(run.counts.queueFull).toBeGreaterThan(0);
    run.manager.dispose();
  }
  console.log(JSON.stringify({ seed, honouring: h.counts, ignoring: ignoring.counts }));
}, 120_000);
