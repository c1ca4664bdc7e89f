import type { ExecutionSession } from "../execution-session.ts";

// Readers of an execution session's output, for the spawn tests of every backend (local and SSH).

const decoder = new TextDecoder();

/** Reads stdout until it contains `text` (the loop stops there; the rest stays for later reads). */
export async function readUntil(session: ExecutionSession, text: string): Promise<string> {
  let seen = "";
  for await (const chunk of session.output) {
    if (chunk.stream === "stdout") seen += decoder.decode(chunk.data);
    if (seen.includes(text)) return seen;
  }
  throw new Error(`output ended before ${JSON.stringify(text)}; saw ${JSON.stringify(seen)}`);
}

/** Everything left in the output, by stream. */
export async function readAll(session: ExecutionSession): Promise<{ stdout: string; stderr: string }> {
  const text = { stdout: "", stderr: "" };
  for await (const chunk of session.output) text[chunk.stream] += decoder.decode(chunk.data);
  return text;
}

/** The pids a command printed as `PIDS <a> <b>`. */
export async function pidsOf(session: ExecutionSession): Promise<number[]> {
  const seen = await readUntil(session, "\n");
  return (seen.match(/PIDS (\d+) (\d+)/)?.slice(1) ?? []).map(Number);
}
