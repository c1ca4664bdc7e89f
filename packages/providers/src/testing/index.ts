/**
 * Local HTTP servers that speak the real streaming wire formats of the Anthropic Messages API and
 * the OpenAI chat-completions API, driven by scenarios (text, tool calls, errors, hangs, resets,
 * 429/529 with headers). For tests of this package and end-to-end tests of the host.
 */
export { splitText } from "../split-text.ts";
export { anthropicWire } from "./anthropic-wire.ts";
export { openaiWire } from "./openai-wire.ts";
export {
  type Scenario,
  type ScenarioStep,
  textScenario,
  toolScenario,
  type WireError,
} from "./scenario.ts";
export type { StreamEncoder, WireFinish, WireFormat } from "./wire-format.ts";
export {
  type RecordedRequest,
  startAnthropicTestServer,
  startOpenAITestServer,
  startWireTestServer,
  type WireTestServer,
} from "./wire-test-server.ts";
