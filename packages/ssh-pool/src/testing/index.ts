export { type FaultMode, type FaultProxy, startFaultProxy } from "./fault-servers.ts";
export { descendantsOf, killTree } from "./process-tree.ts";
export {
  type FixtureHostConfig,
  freePort,
  type HostKeyChoice,
  requireSshd,
  SSHD_PATH,
  type SshdFixture,
  type SshdOptions,
  startSshd,
} from "./sshd-fixture.ts";
