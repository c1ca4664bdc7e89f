import { afterEach, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { dirname, relative, resolve } from "node:path";
import { linkExtension } from "../src/link-extension.ts";
import { cleanup, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";

// each test starts real processes; on a busy machine that takes more than the default 5 s
setDefaultTimeout(30_000);
afterEach(cleanup);

const helloEntry = resolve(import.meta.dir, "../../../examples/hello-extension/src/index.ts");
// the example resolves @dispatch/* like an outside extension: through links `dispatch test` also makes
beforeAll(() => linkExtension(dirname(dirname(helloEntry))));

test("the example extension loads through extensions.paths (relative to the config file) and serves /hello", async () => {
  const dir = tempDir();
  const config = writeConfig(dir, {
    extensions: { paths: [relative(dir, helloEntry)] },
    hello: { message: "Hello from the config file" },
  });
  const { child } = serveProcess({ config });
  const url = await child.url();
  const res = await fetch(`${url}/hello`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ message: "Hello from the config file", workspacesCreated: 0 });
  const health = (await (await fetch(`${url}/health`)).json()) as {
    extensions: Array<{ id: string; state: string }>;
  };
  expect(health.extensions.find((e) => e.id === "hello")?.state).toBe("active");
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(5000)).toBe(0);
});
