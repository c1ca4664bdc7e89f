import { useState } from "preact/hooks";
import { api } from "../api/client.ts";

/**
 * The star toggle of a workspace: a real button (Enter and Space work), `aria-pressed` for its
 * state, a label naming the workspace. Starring reorders the workspace list and the provider queues
 * at once (the server does both); `onChanged` reloads what shows them, and focus returns to this
 * workspace's toggle wherever the list moved it.
 */
export function StarButton(props: {
  id: string;
  name: string;
  starred: boolean;
  /** Reloads what shows the star; resolves once it is shown. */
  onChanged: () => Promise<void>;
}) {
  const [busy, setBusy] = useState(false);
  const toggle = async () => {
    setBusy(true);
    try {
      await (props.starred ? api.workspaces.unstar(props.id) : api.workspaces.star(props.id));
      await props.onChanged();
    } catch (error) {
      alert(`Could not change the star: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      setBusy(false);
      requestAnimationFrame(() => {
        const again = document.querySelector<HTMLButtonElement>(
          `button[data-star="${CSS.escape(props.id)}"]`,
        );
        again?.focus();
      });
    }
  };
  return (
    <button
      type="button"
      class={props.starred ? "star on" : "star"}
      data-star={props.id}
      aria-pressed={props.starred}
      aria-label={`Star ${props.name}`}
      title={props.starred ? "Starred: its turns go first. Click to unstar." : "Star: its turns go first"}
      disabled={busy}
      onClick={toggle}
    >
      <span aria-hidden="true">{props.starred ? "★" : "☆"}</span>
    </button>
  );
}
