import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { addToolHiddenPaths, secretFiles } from "./tool-hidden-paths.ts";

describe("files hidden from sandboxed bash", () => {
  test("the config file and every host's key file", () => {
    const raw = {
      hosts: [
        { id: "a", host: "10.0.0.5", username: "dev", privateKeyPath: "~/.ssh/id_a" },
        { id: "b", host: "10.0.0.6", username: "dev", privateKeyPath: "keys/id_b" },
        { id: "c", host: "10.0.0.7", username: "dev", agent: true },
      ],
    };
    expect(secretFiles(raw, "/etc/dispatch/dispatch.json")).toEqual(
      ["/etc/dispatch/dispatch.json", "~/.ssh/id_a", resolve("keys/id_b")].sort(),
    );
    expect(secretFiles({}, undefined)).toEqual([]);
  });

  test("added to the configured hidden paths, or to the defaults when none are configured", () => {
    const raw: Record<string, unknown> = { tools: { sandbox: "required" } };
    addToolHiddenPaths(raw, ["/etc/dispatch.json"], ["~/.ssh"]);
    expect(raw.tools).toEqual({ sandbox: "required", hiddenPaths: ["~/.ssh", "/etc/dispatch.json"] });
    const own: Record<string, unknown> = { tools: { hiddenPaths: ["/srv/secrets"] } };
    addToolHiddenPaths(own, ["/etc/dispatch.json"], ["~/.ssh"]);
    expect(own.tools).toEqual({ hiddenPaths: ["/srv/secrets", "/etc/dispatch.json"] });
  });
});
