import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ApiHarness, startApi } from "./harness.ts";

const MiB = 1024 * 1024;
const sizes = [2 * MiB, 8 * MiB, 32 * MiB];
const attempts = 4;

let api: ApiHarness;
let dir: string;
let url: string;
beforeAll(async () => {
  api = await startApi();
  url = `${api.url}/workspaces`;
  dir = mkdtempSync(join(tmpdir(), "dispatch-413-"));
  for (const size of sizes) writeFileSync(join(dir, `${size}.json`), `"${"x".repeat(size - 2)}"`);
});
afterAll(async () => {
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a client in its own process (the server answers on this thread meanwhile); returns its stdout. */
async function run(command: string[]): Promise<string> {
  const child = Bun.spawn(command, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  if (code !== 0) throw new Error(`${command[0]} exited with ${code}: ${err}`);
  return out.trim();
}

const payloadTooLarge = '{"error":{"code":"payload_too_large"';

describe("a body over the limit is answered with the JSON 413, and every common client reads it", () => {
  test("Node's fetch (undici), which got EPIPE instead", async () => {
    const script = `
      const { readFileSync } = require("node:fs");
      const [url, ...files] = process.argv.slice(1);
      (async () => {
        const seen = [];
        for (const file of files) {
          const body = readFileSync(file);
          for (let i = 0; i < ${attempts}; i++) {
            try {
              const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } });
              seen.push(res.status + " " + (await res.text()).slice(0, 36));
            } catch (error) {
              seen.push("error " + (error.cause?.code ?? error.message));
            }
          }
        }
        console.log(JSON.stringify(seen));
      })();
    `;
    const files = sizes.map((size) => join(dir, `${size}.json`));
    const seen = JSON.parse(await run(["node", "-e", script, url, ...files])) as string[];
    expect(seen).toEqual(files.flatMap(() => Array(attempts).fill(`413 ${payloadTooLarge}`)));
  }, 60_000);

  test("Bun's fetch", async () => {
    for (const size of sizes) {
      const body = await Bun.file(join(dir, `${size}.json`)).arrayBuffer();
      const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } });
      expect(`${res.status} ${(await res.text()).slice(0, 36)}`).toBe(`413 ${payloadTooLarge}`);
    }
  }, 60_000);

  // urllib3 is not in every Python (a fresh machine's /usr/bin/python3 lacks it); curl below covers
  // the same ground there
  const hasUrllib3 = Bun.spawnSync(["python3", "-c", "import urllib3"]).exitCode === 0;
  test.skipIf(!hasUrllib3)(
    "Python's urllib3",
    async () => {
      const script = `
import json, sys, urllib3
url, files = sys.argv[1], sys.argv[2:]
http = urllib3.PoolManager()
seen = []
for name in files:
    body = open(name, "rb").read()
    r = http.request("POST", url, body=body, headers={"content-type": "application/json"}, retries=False)
    seen.append(f"{r.status} {r.data[:36].decode()}")
print(json.dumps(seen))
`;
      const files = sizes.map((size) => join(dir, `${size}.json`));
      const seen = JSON.parse(await run(["python3", "-c", script, url, ...files])) as string[];
      expect(seen).toEqual(files.map(() => `413 ${payloadTooLarge}`));
    },
    60_000,
  );

  test("curl, which sends Expect: 100-continue for a body this large", async () => {
    for (const size of sizes) {
      const out = await run([
        "curl",
        "-s",
        "-v",
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "--data-binary",
        `@${join(dir, `${size}.json`)}`,
        url,
      ]).catch((error: Error) => error.message);
      expect(out.slice(0, 36)).toBe(payloadTooLarge);
    }
  }, 60_000);
});

test("a client that declares a large body and stalls is closed, not held open", async () => {
  const { port } = new URL(api.url);
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1");
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after 30 s; got ${text.slice(0, 200)}`));
    }, 30_000);
    socket.on("data", (chunk) => {
      text += chunk;
    });
    socket.on("error", reject);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.write(
      `POST /workspaces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${16 * MiB}\r\n\r\n`,
    );
    socket.write("x".repeat(1024)); // and nothing more
  });
  expect(answer).toStartWith("HTTP/1.1 413");
  expect(answer).toContain(payloadTooLarge);
}, 40_000);
