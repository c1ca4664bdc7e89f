/** Splits `text` into `pieces` nearly equal consecutive parts (fewer when the text is short). */
export function splitText(text: string, pieces: number): string[] {
  const count = Math.max(1, Math.min(Math.floor(pieces), text.length));
  if (count <= 1) return [text];
  const size = Math.ceil(text.length / count);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}
