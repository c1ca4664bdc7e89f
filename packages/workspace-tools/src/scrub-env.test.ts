import { expect, test } from "bun:test";
import { scrubEnv } from "./scrub-env.ts";

test("drops DISPATCH_* and secret-looking names, keeps the ordinary environment", () => {
  const env = scrubEnv({
    PATH: "/usr/bin",
    HOME: "/home/me",
    LANG: "C.UTF-8",
    DISPATCH_TOKEN: "t",
    DISPATCH_DATA_DIR: "/d",
    dispatch_config: "x",
    ANTHROPIC_API_KEY: "k",
    OPENAI_API_KEY: "k",
    GATEWAY_KEY: "k",
    GITHUB_TOKEN: "t",
    aws_secret_access_key: "s",
    DB_PASSWORD: "p",
    GOOGLE_APPLICATION_CREDENTIALS: "/c.json",
    UNSET: undefined,
  });
  expect(env).toEqual({ PATH: "/usr/bin", HOME: "/home/me", LANG: "C.UTF-8" });
});
