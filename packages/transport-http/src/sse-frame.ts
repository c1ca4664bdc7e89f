const encoder = new TextEncoder();

/** Frames already made, by event object; an entry goes with its event. */
const frames = new WeakMap<object, Uint8Array>();

/**
 * The SSE frame of a conversation event (`id:` its `seq`, `data:` its JSON), made once per event
 * object: the live hub hands the same object to every subscriber of a conversation, so a turn
 * watched by a thousand clients is serialised once per event, not a thousand times.
 */
export function eventFrame(event: { seq: number }): Uint8Array {
  let frame = frames.get(event);
  if (frame === undefined) {
    frame = encoder.encode(`id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`);
    frames.set(event, frame);
  }
  return frame;
}
