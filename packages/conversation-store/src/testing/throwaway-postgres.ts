/**
 * `bun throwaway-postgres.ts`: starts a throwaway PostgreSQL cluster (see `startPostgresServer`),
 * prints its admin URL on stdout, and stops it (removing its directory) on SIGTERM, SIGINT or when
 * stdin closes. bin/test runs it for the whole test run and passes the URL on as
 * DISPATCH_TEST_POSTGRES_URL.
 */
import { startPostgresServer } from "./postgres-server.ts";

const server = await startPostgresServer();
process.stdout.write(`${server.url}\n`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
process.stdin.on("end", () => void stop());
process.stdin.resume();
