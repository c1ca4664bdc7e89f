import { describe, expect, test } from "bun:test";
import { issuesFrom } from "@dispatch/kernel";
import { backoffFor, cliAgentsConfigSchema } from "./config.ts";

const issues = (value: unknown) => {
  const parsed = cliAgentsConfigSchema.safeParse(value);
  return parsed.success ? [] : issuesFrom("cliAgents", parsed.error);
};

describe("cliAgents config", () => {
  test("the list form (DESIGN §14) and the settings form parse to the same settings", () => {
    const agent = { id: "claude", command: ["claude"], provider: "anthropic", idleMs: 3000 };
    const fromList = cliAgentsConfigSchema.parse([agent]);
    expect(fromList).toEqual(cliAgentsConfigSchema.parse({ agents: [agent] }));
    expect(fromList.agents[0]).toMatchObject({
      crashPatterns: [],
      respawn: { maxAttempts: 3, backoffMs: [1000, 5000, 30000] },
    });
    expect(cliAgentsConfigSchema.parse(undefined)).toMatchObject({ agents: [], captureIntervalMs: 1000 });
  });

  test("errors name the path in the form that was written", () => {
    expect(issues([{ id: "a", command: ["x"], idleMs: 0 }])).toEqual([
      { path: "cliAgents[0].idleMs", message: "Too small: expected number to be >=1" },
    ]);
    expect(issues({ agents: [{ id: "A", command: [] }], tick: 5 })).toEqual([
      {
        path: "cliAgents.agents[0].id",
        message: "must be a slug: lowercase letters, digits and '-', at most 63",
      },
      { path: "cliAgents.agents[0].command", message: "Too small: expected array to have >=1 items" },
      { path: "cliAgents.tick", message: "unknown key" },
    ]);
    expect(
      issues([
        { id: "a", command: ["x"] },
        { id: "a", command: ["y"] },
      ]),
    ).toEqual([{ path: "cliAgents[1].id", message: 'agent id "a" is used twice' }]);
  });

  test("backoff takes the attempt's value; the last one repeats", () => {
    const [agent] = cliAgentsConfigSchema.parse([
      { id: "a", command: ["x"], respawn: { backoffMs: [10, 20] } },
    ]).agents;
    expect([1, 2, 3, 9].map((n) => backoffFor(agent!, n))).toEqual([10, 20, 20, 20]);
  });
});
