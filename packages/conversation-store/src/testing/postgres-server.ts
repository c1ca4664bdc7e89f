import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL, type Subprocess } from "bun";

/** The variable that hands a running server's admin URL to tests (bin/test sets it). */
export const testPostgresUrlVariable = "DISPATCH_TEST_POSTGRES_URL";

/** A throwaway PostgreSQL cluster in a temp dir, listening on a loopback port. */
export interface PostgresServer {
  /** Admin URL (`postgres://dispatch@127.0.0.1:<port>/postgres`, trust auth). */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Fast shutdown, then removes the cluster's directory; idempotent. */
  stop(): Promise<void>;
}

/** Where Debian puts the server binaries: the newest `/usr/lib/postgresql/<n>/bin` with initdb. */
export function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const version = versions[0];
  if (version === undefined) {
    throw new Error(
      "PostgreSQL's server binaries are missing (no /usr/lib/postgresql/<n>/bin/initdb): the Postgres tests need Debian's postgresql. Run bin/lib/ensure-postgres.sh (bin/test runs it) to install it.",
    );
  }
  return join(root, version, "bin");
}

/**
 * PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user and its
 * commands run through `setpriv`; as anyone else they run as that user.
 */
function runAs(): { prefix: string[]; owner: { uid: number; gid: number } | undefined } {
  if (process.getuid?.() !== 0) return { prefix: [], owner: undefined };
  const passwd = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((line) => line.startsWith("postgres:"));
  if (passwd === undefined) {
    throw new Error(
      "running as root and there is no `postgres` user to own a throwaway cluster; install Debian's postgresql (bin/lib/ensure-postgres.sh)",
    );
  }
  const [, , uid, gid] = passwd.split(":");
  return {
    prefix: ["setpriv", "--reuid", "postgres", "--regid", "postgres", "--init-groups", "--"],
    owner: { uid: Number(uid), gid: Number(gid) },
  };
}

async function freePort(): Promise<number> {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

/**
 * Starts a throwaway cluster: `initdb` in a temp dir (trust auth, user `dispatch`), then `postgres`
 * on a free loopback port with durability off (it is thrown away). The server is this process's
 * child and dies with it (`--pdeathsig`), so a killed test run leaves no server behind.
 */
export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const { prefix, owner } = runAs();
  const dir = mkdtempSync(join(tmpdir(), "dispatch-pg-"));
  if (owner !== undefined) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, "data");
  const init = Bun.spawnSync(
    [
      ...prefix,
      join(bin, "initdb"),
      "-D",
      data,
      "-A",
      "trust",
      "-U",
      "dispatch",
      "-E",
      "UTF8",
      "--locale=C",
      "--no-sync",
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  if (init.exitCode !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.exitCode}): ${init.stderr.toString()}`);
  }
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const command = [
      ...(prefix.length > 0 ? prefix.slice(0, -1) : ["setpriv"]),
      "--pdeathsig",
      "SIGQUIT",
      "--",
      join(bin, "postgres"),
      "-D",
      data,
      "-p",
      String(port),
      "-k",
      dir,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "max_connections=400",
      "-c",
      "shared_buffers=32MB",
    ];
    // The log goes to a file: a pipe nobody drains would stall the server once it fills.
    const log = join(dir, `postgres-${port}.log`);
    const child = Bun.spawn(command, { stdout: "ignore", stderr: Bun.file(log), stdin: "ignore" });
    const url = `postgres://dispatch@127.0.0.1:${port}/postgres`;
    try {
      await waitReady(url, child, log);
      return handle(url, port, dir, child);
    } catch (error) {
      lastError = error;
      child.kill("SIGKILL");
      await child.exited;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`could not start postgres: ${String(lastError)}`);
}

async function waitReady(url: string, child: Subprocess, log: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      const text = existsSync(log) ? readFileSync(log, "utf8") : "";
      throw new Error(`postgres exited with ${child.exitCode}: ${text.slice(-2000)}`);
    }
    const probe = new SQL(url, { max: 1, connectionTimeout: 2 });
    try {
      await probe`select 1`;
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await Bun.sleep(50);
    } finally {
      await probe.close();
    }
  }
}

function handle(url: string, port: number, dir: string, child: Subprocess): PostgresServer {
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    dir,
    stop() {
      stopping ??= (async () => {
        // SIGINT is PostgreSQL's "fast" shutdown: sessions are ended, no checkpoint wait to speak of.
        child.kill("SIGINT");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await child.exited;
        clearTimeout(timer);
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

let shared: Promise<{ url: string }> | undefined;

/**
 * The admin URL of the server the Postgres tests use: `DISPATCH_TEST_POSTGRES_URL` when bin/test
 * started one, otherwise one started on first use for this process and stopped when it exits.
 */
export function testPostgresUrl(): Promise<string> {
  shared ??= (async () => {
    const given = process.env[testPostgresUrlVariable];
    if (given !== undefined && given !== "") return { url: given };
    const server = await startPostgresServer();
    // The server dies with this process (pdeathsig), but `bun test` runs no exit handlers, so its
    // directory is removed by a small watcher once this process is gone; the watcher then ends.
    const watcher = Bun.spawn(
      [
        "sh",
        "-c",
        `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.5; done; sleep 1; rm -rf '${server.dir}'`,
      ],
      { stdin: "ignore", stdout: "ignore", stderr: "ignore" },
    );
    watcher.unref();
    return { url: server.url };
  })();
  return shared.then((s) => s.url);
}

/** A database of its own on the test server, dropped by `drop()`. */
export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

let counter = 0;

/** Creates an empty database on the test server (each test gets its own: tables, NOTIFY channels). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = await testPostgresUrl();
  const name = `t_${process.pid}_${Date.now().toString(36)}_${(counter++).toString(36)}`;
  const sql = new SQL(admin, { max: 1 });
  try {
    await sql.unsafe(`CREATE DATABASE "${name}" TEMPLATE template0`);
  } finally {
    await sql.close();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const dropper = new SQL(admin, { max: 1 });
      try {
        await dropper.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await dropper.close();
      }
    },
  };
}

const pool: TestDatabase[] = [];

/**
 * A database from this process's pool of test databases (creating one is slow: PostgreSQL
 * checkpoints), handed back by `drop()` after a wipe. With `keepTables`, every table, view and type
 * of its schema but those and the migration journals is dropped, the kept tables are emptied and
 * the extension journal forgotten; without, every table is emptied and kept (migrations then have
 * nothing to do next time). For tests of the store's behaviour; tests of migrations themselves take
 * a fresh one from `createTestDatabase`.
 */
export async function reusableTestDatabase(keepTables?: readonly string[]): Promise<TestDatabase> {
  const database = pool.pop() ?? (await createTestDatabase());
  return {
    url: database.url,
    name: database.name,
    async drop() {
      const sql = new SQL(database.url, { max: 1 });
      try {
        await wipe(sql, keepTables);
        pool.push(database);
      } catch {
        await database.drop();
      } finally {
        await sql.close();
      }
    },
  };
}

async function wipe(sql: SQL, keepTables: readonly string[] | undefined): Promise<void> {
  const rows = (await sql`
    select c.relname as name, c.relkind as kind from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relkind in ('r', 'p', 'v', 'm')`) as Array<{
    name: string;
    kind: string;
  }>;
  if (keepTables === undefined) {
    const all = rows.filter((r) => r.kind === "r" && !r.name.startsWith("__")).map((r) => `"${r.name}"`);
    if (all.length > 0) await sql.unsafe(`TRUNCATE ${all.join(", ")} RESTART IDENTITY CASCADE`);
    return;
  }
  const keep = new Set(keepTables);
  for (const { name, kind } of rows) {
    if (keep.has(name) || name.startsWith("__")) continue;
    await sql.unsafe(
      `DROP ${kind === "v" ? "VIEW" : kind === "m" ? "MATERIALIZED VIEW" : "TABLE"} IF EXISTS "${name}" CASCADE`,
    );
  }
  const types = (await sql`
    select t.typname as name from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where n.nspname = current_schema() and t.typtype in ('e', 'd', 'r')`) as Array<{ name: string }>;
  for (const { name } of types) await sql.unsafe(`DROP TYPE IF EXISTS "${name}" CASCADE`);
  const present = rows.filter((r) => keep.has(r.name)).map((r) => `"${r.name}"`);
  if (present.length > 0) await sql.unsafe(`TRUNCATE ${present.join(", ")} RESTART IDENTITY CASCADE`);
  if (rows.some((r) => r.name === "__dispatch_extension_migrations")) {
    await sql.unsafe(`DELETE FROM "__dispatch_extension_migrations"`);
  }
}
