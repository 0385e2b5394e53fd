import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';

/** Whether a server can listen on `port` on loopback right now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Where the kernel's ephemeral ports start (listen(0), the local end of outgoing connections). */
function ephemeralLow(): number {
  try {
    const low = Number(
      fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
    );
    if (Number.isInteger(low) && low > 20_000) return low;
  } catch {
    // Not Linux: the IANA range's start.
  }
  return 49_152;
}

/**
 * A TCP port free on loopback a moment ago, for a server a test starts itself (a child process,
 * nginx, embedded PostgreSQL). Chosen below the kernel's ephemeral range: a port from that range
 * (as listen(0) gives) can be taken between this check and the server's bind by the local end of
 * any outgoing connection, of which a busy run opens hundreds a second; a port below it is only
 * taken on purpose. Random, so parallel test files rarely try the same one.
 */
export async function freePort(): Promise<number> {
  const low = 10_000;
  const high = ephemeralLow();
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + crypto.randomInt(high - low);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port between ${low} and ${high} after 100 tries`);
}
