import { api } from "./api/client.ts";

let onLoggedOut: () => void = () => {};

/** Sets what happens when the session turns out to be over (the app shows the login form). */
export function whenLoggedOut(handler: () => void): void {
  onLoggedOut = handler;
}

/**
 * Asked when a stream was refused: true to try again (the session is fine, or the host is down and
 * may come back), false once the host says this browser is no longer logged in.
 */
export async function sessionStillValid(): Promise<boolean> {
  try {
    const state = await api.session.get();
    if (state.authenticated) return true;
    onLoggedOut();
    return false;
  } catch {
    return true;
  }
}
