import { api } from "../api/client.ts";
import { ErrorNote } from "../components/error-note.tsx";
import { MemoryChart } from "../components/memory-chart.tsx";
import { StatusBadge } from "../components/status-badge.tsx";
import { markFirstRender } from "../first-render.ts";
import { duration } from "../format.ts";
import { useLoad } from "../hooks.ts";

/** The host: memory over the last hour, fault counts, and every extension with its state. */
export function HostView() {
  const health = useLoad(() => api.health(), [], 5000);
  const memory = useLoad(() => api.memory(), [], 5000);
  const h = health.value;
  if (h !== undefined) markFirstRender();
  return (
    <section aria-labelledby="view-title">
      <h1 id="view-title" tabIndex={-1}>
        Host
      </h1>
      <ErrorNote error={health.error} />
      {h !== undefined && (
        <p>
          <StatusBadge status={h.status} /> version {h.version}, up {duration(h.uptimeS * 1000)}
        </p>
      )}
      <h2>Memory</h2>
      {memory.value !== undefined ? (
        <MemoryChart history={memory.value} />
      ) : (
        <p class="muted">{memory.error ?? "Loading…"}</p>
      )}
      {h !== undefined && (
        <>
          <h2>Faults</h2>
          <p data-faults={h.faults.total}>
            {h.faults.total === 0 ? "No faults since start." : `${h.faults.total} since start:`}
          </p>
          {h.faults.total > 0 && (
            <ul>
              {Object.entries(h.faults.bySource).map(([source, n]) => (
                <li key={source}>
                  {source}: {n}
                </li>
              ))}
            </ul>
          )}
          <h2>Extensions</h2>
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Extensions in activation order</caption>
              <thead>
                <tr>
                  <th scope="col">Extension</th>
                  <th scope="col">State</th>
                  <th scope="col">Faults</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {h.extensions.map((e) => (
                  <tr key={e.id} data-extension={e.id}>
                    <th scope="row">{e.id}</th>
                    <td>
                      <StatusBadge status={e.state} />
                    </td>
                    <td>{e.faults}</td>
                    <td>{e.reason ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
