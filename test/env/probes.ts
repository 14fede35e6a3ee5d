import { connect } from "node:net";

/** True when GET url answers 2xx within the timeout; used as readiness probes. */
export async function httpOk(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** Sends one line over TCP and resolves with what comes back first (e.g. a Redis PING). */
export function tcpExchange(
  host: string,
  port: number,
  line: string,
  timeoutMs = 2000,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (value: string | undefined) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once("error", () => done(undefined));
    socket.once("connect", () => socket.write(line));
    socket.once("data", (data) => done(data.toString("utf8")));
  });
}
