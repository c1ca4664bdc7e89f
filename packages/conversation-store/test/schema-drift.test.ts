import { expect, test } from "bun:test";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrationsFolder } from "../src/index.ts";
import { postgresMigrationsFolder } from "../src/postgres/pg-migrations.ts";

const packageDir = join(import.meta.dir, "..");

test("src/schema.ts and the committed migrations agree (drizzle-kit generate finds nothing to do)", async () => {
  await expectNoDrift("sqlite", join(packageDir, "src", "schema.ts"), migrationsFolder);
}, 30_000);

test("src/postgres/schema.ts and the committed Postgres migrations agree", async () => {
  await expectNoDrift(
    "postgresql",
    join(packageDir, "src", "postgres", "schema.ts"),
    postgresMigrationsFolder,
  );
}, 30_000);

async function expectNoDrift(dialect: string, schema: string, folder: string): Promise<void> {
  // drizzle-kit writes into its `out` folder, so it runs on a copy.
  const dir = mkdtempSync(join(tmpdir(), "dispatch-drift-"));
  try {
    cpSync(folder, join(dir, "drizzle"), { recursive: true });
    const before = readdirSync(join(dir, "drizzle")).sort();
    const proc = Bun.spawn(
      [
        process.execPath,
        join(packageDir, "node_modules", "drizzle-kit", "bin.cjs"),
        "generate",
        "--dialect",
        dialect,
        "--schema",
        schema,
        "--out",
        "drizzle",
      ],
      { cwd: dir, stdout: "pipe", stderr: "pipe" },
    );
    const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
    const [output, errors, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    clearTimeout(timer);
    expect({ code, errors: code === 0 ? "" : errors }).toEqual({ code: 0, errors: "" });
    expect(output).toContain("No schema changes");
    expect(readdirSync(join(dir, "drizzle")).sort()).toEqual(before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
