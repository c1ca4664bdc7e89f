import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { PressureGauge } from "./pressure-gauge.ts";
import type { PressureLevel } from "./types.ts";

const limit = 1000;

describe("PressureGauge", () => {
  test("rises through warn to shed and only stops shedding below the warn line", () => {
    const gauge = new PressureGauge({ warnRatio: 0.7, shedRatio: 0.9 });
    const steps: Array<[number, PressureLevel]> = [
      [500, "normal"],
      [699, "normal"],
      [700, "warn"], // reaching the line counts
      [850, "warn"],
      [900, "shed"],
      [990, "shed"],
      [850, "shed"], // between the lines: still shedding (hysteresis)
      [700, "shed"], // on the warn line: not below it yet
      [699, "normal"],
      [750, "warn"],
      [100, "normal"],
      [950, "shed"], // straight from normal to shed
    ];
    const seen = steps.map(([used]) => {
      gauge.update(used, limit);
      return gauge.level;
    });
    expect(seen).toEqual(steps.map(([, level]) => level));
  });

  test("reports each crossing once, not every sample past the line", () => {
    const gauge = new PressureGauge({ warnRatio: 0.7, shedRatio: 0.9 });
    const transitions = [500, 750, 760, 780, 920, 930, 800, 600, 650, 720, 730].flatMap((used) => {
      const t = gauge.update(used, limit);
      return t ? [`${t.from}->${t.to}`] : [];
    });
    expect(transitions).toEqual(["normal->warn", "warn->shed", "shed->normal", "normal->warn"]);
  });

  test("a null limit is never pressure", () => {
    const gauge = new PressureGauge({ warnRatio: 0.7, shedRatio: 0.9 });
    expect(gauge.update(Number.MAX_SAFE_INTEGER, null)).toBeUndefined();
    expect(gauge.level).toBe("normal");
    expect(gauge.ratio).toBe(0);
  });

  test("refuses thresholds without a band between the lines", () => {
    expect(() => new PressureGauge({ warnRatio: 0.9, shedRatio: 0.9 })).toThrow(/warnRatio/);
    expect(() => new PressureGauge({ warnRatio: 0.5, shedRatio: 1.2 })).toThrow(/shedRatio/);
    expect(() => new PressureGauge({ warnRatio: 0, shedRatio: 0.5 })).toThrow(RangeError);
  });

  test("property: the level after each reading follows the rules, and transitions match level changes", () => {
    const thresholds = fc
      .tuple(fc.integer({ min: 1, max: 98 }), fc.integer({ min: 1, max: 99 }))
      .filter(([w, s]) => w < s)
      .map(([w, s]) => ({ warnRatio: w / 100, shedRatio: s / 100 }));
    fc.assert(
      fc.property(
        thresholds,
        fc.array(fc.integer({ min: 0, max: 1200 }), { maxLength: 60 }),
        (t, readings) => {
          const gauge = new PressureGauge(t);
          for (const used of readings) {
            const before = gauge.level;
            const transition = gauge.update(used, limit);
            const ratio = used / limit;
            const expected: PressureLevel =
              ratio >= t.shedRatio
                ? "shed"
                : ratio < t.warnRatio
                  ? "normal"
                  : before === "shed"
                    ? "shed"
                    : "warn";
            expect(gauge.level).toBe(expected);
            if (before === gauge.level) expect(transition).toBeUndefined();
            else expect(transition).toEqual({ from: before, to: gauge.level, ratio });
          }
        },
      ),
    );
  });
});
