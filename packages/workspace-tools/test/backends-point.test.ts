import { afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type AnyExtension,
  createServiceRef,
  DispatchError,
  defineExtension,
  StartupError,
} from "@dispatch/kernel";
import { providerConcurrencyExtension } from "@dispatch/provider-concurrency";
import { providersExtension } from "@dispatch/providers";
import { orchestratorRef, sessionOrchestratorExtension } from "@dispatch/session-orchestrator";
import { type ExecutionBackend, executionBackendsRef } from "../src/backend.ts";
import { executionBackendsPoint } from "../src/backend-point.ts";
import { workspaceToolsExtension } from "../src/extension.ts";
import { createLocalBackend } from "../src/local-backend.ts";
import { type StoreHost, startStoreHost } from "./store-fixtures.ts";

const script = {
  replies: [
    { when: "^run", steps: [{ tool: "bash", input: { command: "echo ran > ran.txt" } }, { text: "ok" }] },
  ],
};
// Unconfined: these tests count the commands a backend runs, and the sandbox probe would add its own.
const config = {
  providers: [{ id: "scripted", kind: "scripted", maxConcurrent: 1, script }],
  tools: { sandbox: "none" },
};
const stack = [
  providerConcurrencyExtension,
  providersExtension,
  sessionOrchestratorExtension,
  workspaceToolsExtension,
];

/** What the `build-box` extension keeps while it runs: the commands its backend was asked to run. */
const buildBoxRef = createServiceRef<{ commands: string[] }>("test.build-box");

/** An extension outside workspace-tools contributing host `build-box`: the local machine, counting its commands. */
function buildBox(options: { failActivation?: boolean } = {}): AnyExtension {
  return defineExtension({
    manifest: { id: "build-box", version: "1.0.0", extends: ["workspace-tools"] },
    provides: [buildBoxRef],
    register(reg) {
      const state = reg.provided(buildBoxRef);
      reg.contribute(executionBackendsPoint, {
        hostId: "build-box",
        create: (): ExecutionBackend => {
          const local = createLocalBackend();
          return {
            ...local,
            id: "build-box",
            exec: (command, execOptions) => {
              state().commands.push(command);
              return local.exec(command, execOptions);
            },
          };
        },
      });
    },
    activate(ctx) {
      if (options.failActivation) throw new Error("no network");
      ctx.provide(buildBoxRef, { commands: [] });
    },
  });
}

let env: StoreHost | undefined;
afterEach(async () => {
  await env?.host.stop();
  env = undefined;
});

test("a contributed backend runs the tools of workspaces on its host; the local one is workspace-tools' own", async () => {
  env = await startStoreHost([...stack, buildBox()], config);
  const { host, store } = env;
  const backends = host.get(executionBackendsRef);
  expect(backends.forHost(null).id).toBe("local");
  const root = join(host.dataDir, "remote-ws");
  await store.workspaces.create({ id: "remote", root, hostId: "build-box" });
  const conversation = await store.conversations.create({
    workspaceId: "remote",
    provider: "scripted",
    model: "m",
  });
  const finished = new Promise<string>((resolve) => {
    host.host.bus.subscribe("test", "turn.finished", (event) => resolve(event.status));
  });
  await host.get(orchestratorRef).startTurn({ conversationId: conversation.id, text: "run it" });
  expect(await finished).toBe("completed");
  expect(readFileSync(join(root, "ran.txt"), "utf8")).toBe("ran\n");
  expect(host.get(buildBoxRef).commands).toEqual(["echo ran > ran.txt"]);
});

test("a contributor that failed to activate has no backend: its host is not_found", async () => {
  env = await startStoreHost([...stack, buildBox({ failActivation: true })], config);
  expect(env.host.host.status().extensions.find((e) => e.id === "build-box")?.state).toBe("failed");
  try {
    env.host.get(executionBackendsRef).forHost("build-box");
    throw new Error("expected not_found");
  } catch (error) {
    expect(DispatchError.isInstance(error) && error.code).toBe("not_found");
    expect((error as Error).message).toBe('no execution backend for host "build-box" (known hosts: none)');
  }
});

test("a second backend for one host fails the check, naming both contributors", async () => {
  const impostor = defineExtension({
    manifest: { id: "impostor", version: "1.0.0", extends: ["workspace-tools"] },
    register: (reg) =>
      reg.contribute(executionBackendsPoint, { hostId: "local", create: createLocalBackend }),
    activate: () => {},
  });
  try {
    env = await startStoreHost([...stack, impostor], config);
    throw new Error("expected start-up to fail");
  } catch (error) {
    expect(error).toBeInstanceOf(StartupError);
    expect((error as StartupError).problems.map((p) => p.message)).toEqual([
      '"local" is contributed to extension point "workspace-tools.backends" by both "workspace-tools" and "impostor"',
    ]);
  }
});
