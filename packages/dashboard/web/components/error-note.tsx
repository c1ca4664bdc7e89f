/** An error shown where the content would be, announced to screen readers. */
export function ErrorNote(props: { error: string | undefined }) {
  if (props.error === undefined) return null;
  return (
    <p class="error" role="alert">
      {props.error}
    </p>
  );
}
