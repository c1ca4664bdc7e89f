/** The parts of the package that load ssh2; the extension imports this lazily, only when hosts exist. */
export { createRemoteBackend } from "./remote-backend.ts";
export { SshPool } from "./ssh-pool.ts";
