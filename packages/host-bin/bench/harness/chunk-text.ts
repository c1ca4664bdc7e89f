/**
 * The text of one SSE `data:` payload of either wire format (chat-completions or Messages), "" for
 * anything else: how the bare clients and the floor host read the model server's streams.
 */
export function chunkText(data: string): string {
  if (data === "[DONE]") return "";
  const chunk = JSON.parse(data) as {
    choices?: Array<{ delta?: { content?: string } }>;
    type?: string;
    delta?: { text?: string };
  };
  return (
    chunk.choices?.[0]?.delta?.content ??
    (chunk.type === "content_block_delta" ? (chunk.delta?.text ?? "") : "")
  );
}
