/// <reference lib="webworker" />
/**
 * The grep worker: runs the regular expression off the host's main thread, so a pattern that
 * backtracks catastrophically only costs this thread, which its owner terminates on timeout.
 */
import type { GrepReply, GrepRequest } from "./grep-protocol.ts";

declare const self: DedicatedWorkerGlobalScope;

const decoder = new TextDecoder();
let cached: { source: string; flags: string; regex: RegExp } | undefined;

function search(request: GrepRequest): string[] {
  if (cached?.source !== request.pattern || cached.flags !== request.flags) {
    cached = {
      source: request.pattern,
      flags: request.flags,
      regex: new RegExp(request.pattern, request.flags),
    };
  }
  const { regex } = cached;
  const matches: string[] = [];
  for (const { shown, data } of request.files) {
    const lines = decoder.decode(data).split("\n");
    for (const [n, line] of lines.entries()) {
      if (!regex.test(line)) continue;
      const text = line.length > request.maxLineChars ? `${line.slice(0, request.maxLineChars)}…` : line;
      matches.push(`${shown}:${n + 1}: ${text}`);
      if (matches.length >= request.maxMatches) return matches;
    }
  }
  return matches;
}

self.onmessage = (event: MessageEvent<GrepRequest>) => {
  let reply: GrepReply;
  try {
    reply = { ok: true, matches: search(event.data) };
  } catch (error) {
    reply = { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  self.postMessage(reply);
};
