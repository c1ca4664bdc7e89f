import { expect, test } from "bun:test";
import { eventFrame } from "../src/sse-frame.ts";

test("an event's frame is its id and JSON, made once for that event object", () => {
  const event = {
    seq: 7,
    type: "text.delta",
    turnId: "t",
    at: "2026-12-01T00:00:00.000Z",
    data: { text: "hi" },
  };
  const frame = eventFrame(event);
  expect(new TextDecoder().decode(frame)).toBe(`id: 7\ndata: ${JSON.stringify(event)}\n\n`);
  expect(eventFrame(event)).toBe(frame);
  expect(eventFrame({ ...event })).not.toBe(frame);
});
