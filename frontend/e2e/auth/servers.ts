/**
 * What the hosted auth pages' browser tests talk to besides Kiln, all on loopback: an SMTP
 * capture (smtp-server, as the API tests use it) and a real OpenID provider (oidc-provider with
 * its development login pages). Kiln is pointed at them through its admin API, so the shared
 * global setup needs no change. Both packages are the backend's test dependencies.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SmtpCapture, codeIn, linkIn } from '../../../backend/test/smtp-capture';

export { SmtpCapture, codeIn, linkIn };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const backendRequire = createRequire(path.join(root, 'backend/package.json'));

/** An OpenID provider whose every login succeeds as `<login>@acme.test`. */
export async function startOidcProvider(kilnBaseUrl: string, key: string) {
  const { default: Provider } = (await import(
    pathToFileURL(backendRequire.resolve('oidc-provider')).href
  )) as { default: new (issuer: string, config: object) => { callback(): http.RequestListener } };
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'kiln-pages',
        client_secret: 'kiln-pages-secret',
        redirect_uris: [`${kilnBaseUrl}/api/auth/oauth/custom/${key}/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    features: { devInteractions: { enabled: true } },
    findAccount: (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: () => ({
        sub: id,
        email: `${id}@acme.test`,
        email_verified: true,
        name: `User ${id}`,
      }),
    }),
  });
  server.on('request', provider.callback());
  return {
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) for a base32 secret. */
export function totp(secret: string, at = Date.now()): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase())
    bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30_000)));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

export function pkce() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
}
