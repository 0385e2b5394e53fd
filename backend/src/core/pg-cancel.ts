import net from 'node:net';
import path from 'node:path';
import type pg from 'pg';

/** What node-postgres keeps about a connected client that a cancel request needs. */
interface CancelTarget {
  processID: number | null;
  secretKey: number | null;
  host?: string;
  port?: number;
  connection?: { stream?: { remoteAddress?: string; remotePort?: number } };
}

/** The protocol's CancelRequest code (1234 << 16 | 5678). */
const CANCEL_REQUEST_CODE = 80877102;

/**
 * Asks PostgreSQL to cancel whatever `client` is running, the way libpq's PQcancel does: a
 * CancelRequest with the backend's process id and secret key, sent on a fresh socket. It needs
 * no privileges (the secret key is the proof) and no pool connection, so it works while the
 * pool is exhausted and whichever login role the client used. Best effort: failures are
 * ignored (the statement timeout still bounds the query).
 */
export function sendCancelRequest(client: pg.PoolClient): void {
  const target = client as unknown as CancelTarget;
  if (target.processID === null || target.secretKey === null) return;
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  packet.writeInt32BE(target.processID, 8);
  packet.writeInt32BE(target.secretKey, 12);
  const stream = target.connection?.stream;
  const host = target.host ?? 'localhost';
  const socket =
    stream?.remoteAddress && stream.remotePort
      ? net.connect(stream.remotePort, stream.remoteAddress)
      : host.startsWith('/')
        ? net.connect(path.join(host, `.s.PGSQL.${target.port ?? 5432}`))
        : net.connect(target.port ?? 5432, host);
  socket.setTimeout(5000, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('connect', () => socket.end(packet));
}
