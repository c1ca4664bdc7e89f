import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api/client.ts";

/**
 * Asks for the host's token once: it is sent in the body of `POST /auth/session`, which answers with
 * an HttpOnly session cookie. The token is not kept anywhere by the page (no storage, no URL).
 */
export function LoginView(props: { onDone: () => void; expired: boolean }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api.session.login(token);
      setToken("");
      props.onDone();
    } catch (e) {
      setError(
        e instanceof Error && "status" in e && e.status === 401 ? "That is not the token." : String(e),
      );
      input.current?.select();
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login" id="main">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Dispatch</h1>
        <p>{props.expired ? "Your session ended. " : ""}This host needs its access token.</p>
        <label for="token">Access token</label>
        <input
          ref={input}
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          required
          minLength={16}
          value={token}
          onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)}
          aria-invalid={error !== undefined}
          aria-describedby={error === undefined ? undefined : "login-error"}
        />
        {error !== undefined && (
          <p id="login-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || token.length === 0}>
          Log in
        </button>
      </form>
    </main>
  );
}
