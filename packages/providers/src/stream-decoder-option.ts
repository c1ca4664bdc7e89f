import { z } from "zod";

/**
 * `streamDecoder` of the anthropic and openai-compatible kinds: who decodes a successful streamed
 * answer. `dispatch` (the default) is our decoder of the wire format (a fraction of the SDK's CPU per
 * chunk; notes/benchmarks.md, hot path); `sdk` hands the stream to the AI SDK as before, for a server
 * whose stream our decoder reads differently. The SDK builds the request and judges failed answers
 * either way.
 */
export const streamDecoderSchema = z.enum(["dispatch", "sdk"]).default("dispatch");
