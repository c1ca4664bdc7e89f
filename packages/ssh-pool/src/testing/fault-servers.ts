import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * What a fault proxy does: `forward` relays to the target; `close` accepts and closes at once;
 * `silent` accepts and never sends a byte; `freeze` drops every byte both ways on every connection,
 * old and new, like a network that went dark without a reset.
 */
export type FaultMode = "forward" | "close" | "silent" | "freeze";

/** A TCP server on 127.0.0.1 that misbehaves on demand in front of a real server. */
export interface FaultProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  mode: FaultMode;
  close(): Promise<void>;
}

/** Starts a fault proxy in front of `127.0.0.1:targetPort` (no target: forwarding closes at once). */
export async function startFaultProxy(options: {
  targetPort?: number;
  mode: FaultMode;
}): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const state = { mode: options.mode };
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  };
  const server: Server = createServer((client) => {
    accepted += 1;
    track(client);
    if (state.mode === "close" || (state.mode === "forward" && options.targetPort === undefined)) {
      client.destroy();
      return;
    }
    if (state.mode !== "forward") {
      client.resume();
      return;
    }
    const upstream = connect(options.targetPort as number, "127.0.0.1");
    track(upstream);
    const relay = (from: Socket, to: Socket) => {
      from.on("data", (chunk) => {
        if (state.mode !== "freeze") to.write(chunk);
      });
      from.on("close", () => to.destroy());
    };
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port from the kernel");
  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    get mode() {
      return state.mode;
    },
    set mode(mode: FaultMode) {
      state.mode = mode;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
