import { expect, test } from "bun:test";
import { keptEntries, mergeActivity } from "../web/model/activity-merge.ts";

const e = (id: string) => ({ id });

test("new entries go first, ids already shown are dropped, at most 100 are kept", () => {
  const current = [e("b.3"), e("b.2"), e("b.1")];
  expect(mergeActivity(current, [e("b.3"), e("b.4"), e("b.5")]).map((x) => x.id)).toEqual([
    "b.5",
    "b.4",
    "b.3",
    "b.2",
    "b.1",
  ]);
  const many = Array.from({ length: 150 }, (_, i) => e(`b.${i + 1}`));
  const merged = mergeActivity([], many);
  expect(merged).toHaveLength(keptEntries);
  expect(merged[0]?.id).toBe("b.150");
  expect(merged.at(-1)?.id).toBe("b.51");
});

test("after a host restart the new process's entries come before the old ones", () => {
  const before = [e("old.9"), e("old.8")];
  expect(mergeActivity(before, [e("new.1"), e("new.2")]).map((x) => x.id)).toEqual([
    "new.2",
    "new.1",
    "old.9",
    "old.8",
  ]);
});
