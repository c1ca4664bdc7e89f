import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// drizzle-kit is this package's dev dependency; extensions' tests use it through here.
const drizzleKit = join(import.meta.dir, "..", "..", "node_modules", "drizzle-kit", "bin.cjs");

/** What `drizzle-kit generate` made of a schema and its committed migrations. */
export interface MigrationDrift {
  /** drizzle-kit's exit code, and its stderr when that is not 0. */
  code: number;
  errors: string;
  /** True when drizzle-kit found nothing to do (schema and migrations agree). */
  clean: boolean;
  /** drizzle-kit's output (names what it would generate). */
  output: string;
}

/**
 * Runs `drizzle-kit generate` for `schema` against a copy of the migrations `folder` (drizzle-kit
 * writes into its `out`), so a schema change without its migration shows as not `clean`.
 */
export async function migrationDrift(options: {
  dialect: "sqlite" | "postgresql";
  schema: string;
  folder: string;
}): Promise<MigrationDrift> {
  const dir = mkdtempSync(join(tmpdir(), "dispatch-drift-"));
  try {
    cpSync(options.folder, join(dir, "drizzle"), { recursive: true });
    const before = readdirSync(join(dir, "drizzle")).sort();
    const proc = Bun.spawn(
      [
        process.execPath,
        drizzleKit,
        "generate",
        "--dialect",
        options.dialect,
        "--schema",
        options.schema,
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
    const after = readdirSync(join(dir, "drizzle")).sort();
    const clean =
      code === 0 && output.includes("No schema changes") && after.join("\n") === before.join("\n");
    return { code, errors: code === 0 ? "" : errors, clean, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `migrationDrift` for both dialects of an extension laid out as this project's are: `src/schema.ts`
 * with `drizzle/`, and `src/pg-schema.ts` with `drizzle-postgres/`, under `packageDir`.
 */
export async function extensionMigrationDrift(
  packageDir: string,
): Promise<Array<{ dialect: "sqlite" | "postgresql" } & MigrationDrift>> {
  const layouts = [
    ["sqlite", "schema.ts", "drizzle"],
    ["postgresql", "pg-schema.ts", "drizzle-postgres"],
  ] as const;
  const out: Array<{ dialect: "sqlite" | "postgresql" } & MigrationDrift> = [];
  for (const [dialect, schema, folder] of layouts) {
    const drift = await migrationDrift({
      dialect,
      schema: join(packageDir, "src", schema),
      folder: join(packageDir, folder),
    });
    out.push({ dialect, ...drift });
  }
  return out;
}
