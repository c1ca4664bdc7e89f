/** A status word in a colour of its own (the word itself carries the meaning, not the colour). */
export function StatusBadge(props: { status: string }) {
  return <span class={`badge badge-${props.status}`}>{props.status}</span>;
}
