/**
 * Outgoing requests to URLs someone typed in (webhooks): a POST whose connection may only reach
 * public addresses unless private networks are allowed. The address is checked when the socket
 * connects (in the DNS lookup itself, and for literal IPs before it), so a name that resolves
 * to a public address when saved and to 127.0.0.1 or the cloud metadata service later
 * (DNS rebinding) is refused all the same.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

const PRIVATE = new net.BlockList();
for (const [address, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const)
  PRIVATE.addSubnet(address, prefix, 'ipv4');
for (const [address, prefix] of [
  ['::', 96], // unspecified, loopback, IPv4-compatible (::127.0.0.1)
  ['64:ff9b::', 96], // NAT64: reaches IPv4 through a gateway (169.254.169.254 included)
  ['64:ff9b:1::', 48],
  ['2002::', 16], // 6to4: an IPv4 address inside
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(address, prefix, 'ipv6');

/** Loopback, private, link-local (cloud metadata), carrier-grade NAT, multicast, unspecified. */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1]!, 'ipv4');
  const family = net.isIP(address);
  if (family === 0) return false;
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The request was not sent: the URL leads to a private address. Not worth retrying. */
export class PrivateAddressError extends Error {
  constructor(host: string, address: string) {
    super(`refused: ${host} is a private address (${address})`);
    this.name = 'PrivateAddressError';
  }
}

const guardedLookup: net.LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    const list = addresses as dns.LookupAddress[];
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad) return callback(new PrivateAddressError(hostname, bad.address), '', 0);
    if (options.all) return (callback as (e: null, a: dns.LookupAddress[]) => void)(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
};

/** POSTs `body`; resolves the status code (the answer's body is discarded). */
export function postOutbound(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: { timeoutMs: number; allowPrivate: boolean },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      reject(new Error(`refused: ${target.protocol} URLs are not supported`));
      return;
    }
    const host = target.hostname.replace(/^\[|\]$/g, '');
    if (!options.allowPrivate && isPrivateAddress(host)) {
      reject(new PrivateAddressError(host, host));
      return;
    }
    const send = target.protocol === 'https:' ? https.request : http.request;
    const req = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        ...(options.allowPrivate ? {} : { lookup: guardedLookup }),
        timeout: options.timeoutMs,
      },
      (res) => {
        // The status is the answer; the body is not read.
        resolve(res.statusCode ?? 0);
        res.destroy();
      },
    );
    const deadline = setTimeout(
      () => req.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })),
      options.timeoutMs,
    );
    req.on('close', () => clearTimeout(deadline));
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })),
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** What `sendOutbound` got back: the status and the start of the body. */
export interface OutboundAnswer {
  status: number;
  /** The first `maxBodyBytes` of the answer, as UTF-8 text. */
  body: string;
}

/**
 * Sends `method` with `body` (none for GET / DELETE without one) under the same address rules
 * as `postOutbound`; resolves the status and the start of the answer's body (for run logs).
 */
export function sendOutbound(
  url: string,
  request: { method: string; headers: Record<string, string>; body?: string },
  options: { timeoutMs: number; allowPrivate: boolean; maxBodyBytes?: number },
): Promise<OutboundAnswer> {
  const maxBody = options.maxBodyBytes ?? 4096;
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      reject(new Error(`refused: ${target.protocol} URLs are not supported`));
      return;
    }
    const host = target.hostname.replace(/^\[|\]$/g, '');
    if (!options.allowPrivate && isPrivateAddress(host)) {
      reject(new PrivateAddressError(host, host));
      return;
    }
    const send = target.protocol === 'https:' ? https.request : http.request;
    const headers = { ...request.headers };
    if (request.body !== undefined)
      headers['content-length'] = String(Buffer.byteLength(request.body));
    const req = send(
      target,
      {
        method: request.method,
        headers,
        ...(options.allowPrivate ? {} : { lookup: guardedLookup }),
        timeout: options.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).subarray(0, maxBody).toString('utf8'),
          });
          res.destroy();
        };
        res.on('data', (chunk: Buffer) => {
          if (size >= maxBody) return;
          chunks.push(chunk);
          size += chunk.length;
          if (size >= maxBody) done();
        });
        res.on('end', done);
        res.on('error', reject);
      },
    );
    const deadline = setTimeout(
      () => req.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })),
      options.timeoutMs,
    );
    req.on('close', () => clearTimeout(deadline));
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })),
    );
    req.on('error', reject);
    req.end(request.body);
  });
}
