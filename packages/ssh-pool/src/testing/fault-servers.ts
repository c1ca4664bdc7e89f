import { createServer, type Server, type Socket } from "node:net";

/** A misbehaving TCP server on 127.0.0.1. */
export interface FaultServer {
  readonly port: number;
  /** How many connections it has accepted. */
  readonly accepted: number;
  close(): Promise<void>;
}

async function listen(onSocket: (socket: Socket) => void): Promise<FaultServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    onSocket(socket);
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
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Accepts every connection and closes it at once, before any SSH banner. */
export function startClosingServer(): Promise<FaultServer> {
  return listen((socket) => socket.destroy());
}

/** Accepts every connection and never sends a byte (an SSH client must time out). */
export function startSilentServer(): Promise<FaultServer> {
  return listen((socket) => socket.resume());
}
