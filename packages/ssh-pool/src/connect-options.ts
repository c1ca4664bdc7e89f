import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { DispatchError, messageOf } from "@dispatch/kernel";
import type { ConnectConfig } from "ssh2";
import type { HostConfig } from "./config.ts";

/** Expands a leading `~` to the home directory, as a shell would. */
export function expandHome(path: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return `${homedir()}${path.slice(1)}`;
  return path;
}

/**
 * ssh2's options for `config`, read at connect time (so a rotated key file or a new agent socket is
 * picked up on reconnect). Throws `invalid_config` for an unreadable key or an agent without a socket.
 */
export function connectOptions(config: HostConfig, hostVerifier: (key: Buffer) => boolean): ConnectConfig {
  const options: ConnectConfig = {
    host: config.host,
    port: config.port,
    username: config.username,
    readyTimeout: config.connectTimeoutMs,
    keepaliveInterval: config.keepaliveIntervalMs,
    keepaliveCountMax: 3,
    tryKeyboard: false,
    hostVerifier,
  };
  if (config.privateKeyPath !== undefined) {
    const path = expandHome(config.privateKeyPath);
    try {
      options.privateKey = readFileSync(path);
    } catch (error) {
      throw new DispatchError(
        "invalid_config",
        `host "${config.id}": cannot read private key ${path}: ${messageOf(error)}`,
        { cause: error },
      );
    }
  }
  if (config.agent) {
    const socket = process.env.SSH_AUTH_SOCK;
    if (socket) options.agent = socket;
    else if (options.privateKey === undefined) {
      throw new DispatchError(
        "invalid_config",
        `host "${config.id}" uses the SSH agent, but SSH_AUTH_SOCK is not set`,
      );
    }
  }
  return options;
}
