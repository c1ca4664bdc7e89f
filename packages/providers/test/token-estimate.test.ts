import { expect, test } from "bun:test";
import fc from "fast-check";
import { promptChars } from "../src/token-estimate.ts";
import type { ModelMessage, ToolSpec } from "../src/types.ts";

const message: fc.Arbitrary<ModelMessage> = fc.oneof(
  fc.record({ role: fc.constant("user" as const), content: fc.string({ unit: "grapheme" }) }),
  fc.record({
    role: fc.constant("assistant" as const),
    parts: fc.array(
      fc.oneof(
        fc.record({ type: fc.constant("text" as const), text: fc.string() }),
        fc.record({
          type: fc.constant("tool-call" as const),
          toolCallId: fc.string(),
          toolName: fc.string(),
          input: fc.jsonValue(),
        }),
      ),
    ),
  }),
  fc.record({
    role: fc.constant("tool" as const),
    results: fc.array(
      fc.record({
        toolCallId: fc.string(),
        toolName: fc.string(),
        output: fc.string(),
        isError: fc.boolean(),
      }),
    ),
  }),
);
const spec: fc.Arbitrary<ToolSpec> = fc.record({
  name: fc.string(),
  description: fc.string(),
  inputSchema: fc.dictionary(fc.string(), fc.jsonValue()),
});

test("promptChars is the length of the prompt as JSON, also when steps share message and spec objects", () => {
  fc.assert(
    fc.property(
      fc.array(message, { maxLength: 8 }),
      fc.array(message, { maxLength: 3 }),
      fc.array(spec, { maxLength: 3 }),
      fc.option(fc.string(), { nil: undefined }),
      (history, added, tools, system) => {
        const expected = (messages: ModelMessage[]) =>
          (system?.length ?? 0) +
          JSON.stringify(messages).length +
          (tools.length === 0 ? 0 : JSON.stringify(tools).length);
        expect(promptChars({ system, messages: history, tools })).toBe(expected(history));
        // the next step: the same objects plus new ones, measured once each
        const next = [...history, ...added];
        expect(promptChars({ system, messages: next, tools })).toBe(expected(next));
      },
    ),
  );
});
