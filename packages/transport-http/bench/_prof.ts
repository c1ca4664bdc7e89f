import { createLogger } from "@dispatch/kernel";
import { startApi } from "../test/harness.ts";
const api = await startApi({ server: { port: 0 } }, [], createLogger({ level: "info" }));
await api.client.workspaces.$post({ json: { id: "bench", name: "Bench" } });
const p = Bun.spawn(["wrk", "-t1", "-c32", "-d5s", `${api.url}/workspaces`], { stdout: "pipe" });
console.log(await new Response(p.stdout).text());
await api.stop();
