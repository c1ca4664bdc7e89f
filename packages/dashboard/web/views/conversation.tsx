import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api/client.ts";
import { ErrorNote } from "../components/error-note.tsx";
import { StatusBadge } from "../components/status-badge.tsx";
import { markFirstRender } from "../first-render.ts";
import { useLoad } from "../hooks.ts";
import { openLiveStream, type StreamState } from "../model/live-stream.ts";
import { Transcript, type TranscriptEvent, type TranscriptTurn } from "../model/transcript.ts";
import { href } from "../router.ts";
import { sessionStillValid } from "../session.ts";

/**
 * A conversation's live transcript: its events from seq 0, then live; after a dropped connection the
 * browser resumes with `Last-Event-ID` (and a new stream resumes with `?after=` the last seq shown),
 * and the transcript ignores any seq it already has, so nothing shows twice. A composer (Ctrl+Enter
 * sends; while a turn runs the message waits for it) and Cancel.
 */
export function ConversationView(props: { id: string }) {
  const conversation = useLoad(() => api.conversations.get(props.id), [props.id]);
  const [transcript, setTranscript] = useState(() => new Transcript());
  const [, setVersion] = useState(0);
  const [stream, setStream] = useState<StreamState>("connecting");
  const [error, setError] = useState<string | undefined>(undefined);
  const log = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const t = new Transcript();
    setTranscript(t);
    let loading = false;
    let again = false;
    const loadMessages = async () => {
      if (loading) {
        again = true;
        return;
      }
      loading = true;
      try {
        do {
          again = false;
          t.setMessages((await api.conversations.messages(props.id)).messages);
          setVersion(t.version);
        } while (again);
      } catch (e) {
        setError(e instanceof Error ? e.message : String(e));
      } finally {
        loading = false;
      }
    };
    void loadMessages();
    const live = openLiveStream<TranscriptEvent>({
      url: () => api.conversations.eventsUrl(props.id, t.lastSeq),
      onMessage: (event) => {
        if (!t.apply(event)) return;
        setVersion(t.version);
        if (t.missingUserText) void loadMessages();
        if (event.type.startsWith("turn.")) void conversation.reload();
      },
      onState: setStream,
      shouldRetry: sessionStillValid,
    });
    return () => live.close();
    // One stream per conversation id (the view is keyed by it too).
  }, [props.id]);

  // Keep the newest text in view while the reader is at the bottom.
  useEffect(() => {
    const el = log.current;
    if (el === null) return;
    const nearBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
    if (nearBottom) el.scrollTop = el.scrollHeight;
  });

  const conv = conversation.value;
  if (conv !== undefined) markFirstRender();
  const active = transcript.activeTurn;
  const status = active?.state ?? conv?.status ?? "idle";
  const cancel = async () => {
    try {
      await api.conversations.cancel(props.id);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <section aria-labelledby="view-title" class="conversation">
      <p class="crumbs">
        <a href={href({ view: "workspaces" })}>Workspaces</a> /{" "}
        {conv !== undefined && (
          <a href={href({ view: "workspace", id: conv.workspaceId })}>{conv.workspaceId}</a>
        )}{" "}
        /
      </p>
      <div class="title-row">
        <h1 id="view-title" tabIndex={-1}>
          {conv?.title ?? `Conversation ${props.id.slice(-6)}`}
        </h1>
        <span role="status" class="turn-status" data-status={status}>
          <StatusBadge status={status} />
        </span>
        <span class={`stream stream-${stream}`} title="Event stream">
          {stream === "live" ? "live" : stream}
        </span>
      </div>
      {conv !== undefined && (
        <p class="muted">
          {conv.provider}/{conv.model} · runner {conv.runner}
        </p>
      )}
      <ErrorNote error={conversation.error ?? error} />
      <div class="transcript" ref={log} role="log" aria-label="Transcript" data-last-seq={transcript.lastSeq}>
        <ol>
          {transcript.turns.length === 0 && <li class="muted">No messages yet: write one below.</li>}
          {transcript.turns.map((turn) => (
            <TurnView key={turn.turnId} turn={turn} />
          ))}
        </ol>
      </div>
      {conv?.runner.startsWith("cli:") && (
        <AgentScreen
          id={props.id}
          screen={transcript.screen}
          active={active !== undefined}
          onError={setError}
        />
      )}
      <Composer id={props.id} active={active !== undefined} onCancel={cancel} onError={setError} />
    </section>
  );
}

function TurnView(props: { turn: TranscriptTurn }) {
  const { turn } = props;
  return (
    <li class="turn" data-turn={turn.turnId} data-state={turn.state}>
      {turn.userText !== null && (
        <div class="msg user">
          <span class="who">You</span>
          <p class="text">{turn.userText}</p>
        </div>
      )}
      <div class="msg agent">
        <span class="who">Agent</span>
        {turn.items.map((item, i) =>
          item.kind === "note" ? (
            // Items only ever grow at the end, so their index is a stable key.
            <p key={i} class="note muted">
              {item.text}
            </p>
          ) : item.kind === "text" ? (
            // Items only ever grow at the end, so their index is a stable key.
            <p key={i} class="text">
              {item.text}
            </p>
          ) : (
            <details key={item.toolCallId} class={item.isError ? "tool tool-error" : "tool"}>
              <summary>
                <code>{item.toolName}</code>{" "}
                {item.output === undefined ? "running…" : item.isError ? "failed" : "done"}
                {item.invalid !== undefined && ` (invalid call: ${item.invalid})`}
              </summary>
              <p class="tool-label">Input</p>
              <pre>{item.input}</pre>
              {item.output !== undefined && <p class="tool-label">Result</p>}
              {item.output !== undefined && (
                <pre class="out">
                  {item.output}
                  {item.truncated ? "\n[truncated]" : ""}
                </pre>
              )}
            </details>
          ),
        )}
        <p class="turn-end">
          <StatusBadge status={turn.state} />
          {turn.note !== null && <span class="muted"> {turn.note}</span>}
        </p>
      </div>
    </li>
  );
}

/**
 * A CLI agent's live screen (its tmux pane, from `screen.updated` events) and an input box: text is
 * pasted into the pane as it is, Enter and Ctrl-C are sent as keys. For answering the agent's own
 * questions while a turn runs; the composer below starts turns.
 */
function AgentScreen(props: {
  id: string;
  screen: string | null;
  active: boolean;
  onError: (message: string | undefined) => void;
}) {
  const [text, setText] = useState("");
  const send = async (body: { text: string } | { keys: string[] }) => {
    props.onError(undefined);
    try {
      await api.agents.input(props.id, body);
      if ("text" in body) setText("");
    } catch (e) {
      props.onError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <section class="agent" aria-labelledby="agent-screen-title">
      <h2 id="agent-screen-title">Agent screen</h2>
      <pre class="screen" data-screen>
        {props.screen ?? "No screen yet: it shows while a turn runs."}
      </pre>
      <form
        class="agent-input"
        onSubmit={(e) => {
          e.preventDefault();
          if (text !== "") void send({ text: `${text}\n` });
        }}
      >
        <label for="agent-input">Send to the agent</label>
        <input
          id="agent-input"
          autocomplete="off"
          value={text}
          onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
          aria-describedby="agent-input-hint"
        />
        <p id="agent-input-hint" class="hint">
          Typed into its terminal as it is, then Enter; for its own questions while a turn runs.
        </p>
        <div class="actions">
          <button type="submit" disabled={text === ""}>
            Type it
          </button>
          <button type="button" class="quiet" onClick={() => void send({ keys: ["Enter"] })}>
            Enter
          </button>
          <button type="button" class="quiet" onClick={() => void send({ keys: ["C-c"] })}>
            Ctrl-C
          </button>
        </div>
      </form>
    </section>
  );
}

function Composer(props: {
  id: string;
  active: boolean;
  onCancel: () => Promise<void>;
  onError: (message: string | undefined) => void;
}) {
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const send = async () => {
    if (text.trim() === "" || busy) return;
    setBusy(true);
    props.onError(undefined);
    try {
      await api.conversations.send(props.id, text);
      setText("");
    } catch (e) {
      props.onError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      <label for="composer-text">Message</label>
      <textarea
        id="composer-text"
        rows={3}
        value={text}
        onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            void send();
          }
        }}
        aria-describedby="composer-hint"
      />
      <p id="composer-hint" class="hint">
        Ctrl+Enter sends. While a turn runs, a new message waits for it.
      </p>
      <div class="actions">
        <button type="submit" disabled={busy || text.trim() === ""}>
          Send
        </button>
        <button type="button" class="danger" onClick={() => void props.onCancel()} disabled={!props.active}>
          Cancel turn
        </button>
      </div>
    </form>
  );
}
