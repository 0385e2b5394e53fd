/**
 * Signature checks of incoming webhooks, one per scheme, each over the exact bytes received.
 * A check answers `verified` or the reason a delivery is refused (an error code the receiver
 * answers 401 with). Comparisons are constant-time over decoded bytes.
 */
import crypto from 'node:crypto';
import type { IncomingWebhookVerification } from '@kiln/shared-schemas';
import { safeEqual } from '../core/crypto.js';

export type Refusal =
  | 'WEBHOOK_SIGNATURE_MISSING'
  | 'WEBHOOK_SIGNATURE_INVALID'
  | 'WEBHOOK_TIMESTAMP_STALE'
  | 'WEBHOOK_SECRET_PATH_INVALID';

export const REFUSAL_MESSAGES: Record<Refusal, string> = {
  WEBHOOK_SIGNATURE_MISSING:
    'The delivery carries no signature (or not all the headers its scheme needs)',
  WEBHOOK_SIGNATURE_INVALID: 'The signature does not match the body and the endpoint’s secret',
  WEBHOOK_TIMESTAMP_STALE: 'The signed timestamp is outside the endpoint’s replay window',
  WEBHOOK_SECRET_PATH_INVALID: 'The URL does not carry the endpoint’s secret',
};

export type VerifyResult =
  { ok: true; verification: 'verified' | 'secret-path' } | { ok: false; reason: Refusal };

export interface VerifyInput {
  verification: IncomingWebhookVerification;
  secret: string;
  replayWindowSeconds: number;
  body: Buffer;
  /** Request headers, lower-case names (Node's `req.headers`). */
  headers: Record<string, string | string[] | undefined>;
  /** The last part of the URL (scheme `none`). */
  token: string | undefined;
  /** Seconds since the epoch. */
  now: number;
}

/** The headers each scheme signs with (left out of a stored delivery's headers). */
export function signatureHeaders(v: IncomingWebhookVerification): string[] {
  switch (v.scheme) {
    case 'hmac':
      return [v.header.toLowerCase()];
    case 'standard-webhooks':
      return ['webhook-signature', 'svix-signature'];
    case 'github':
      return ['x-hub-signature-256', 'x-hub-signature'];
    case 'stripe':
      return ['stripe-signature'];
    case 'none':
      return [];
  }
}

function header(headers: VerifyInput['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function hmac(key: Buffer | string, ...parts: (Buffer | string)[]): Buffer {
  const mac = crypto.createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** `given` (already decoded) equals `expected`, in constant time. */
function sameBytes(given: Buffer, expected: Buffer): boolean {
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

function decode(text: string, encoding: 'hex' | 'base64'): Buffer {
  const trimmed = text.trim();
  if (encoding === 'hex')
    return /^[0-9a-fA-F]*$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.alloc(0);
  return Buffer.from(trimmed, 'base64');
}

/** A `whsec_<base64>` secret's key bytes (Standard Webhooks); undefined when it is not one. */
export function standardWebhooksKey(secret: string): Buffer | undefined {
  const b64 = secret.startsWith('whsec_') ? secret.slice(6) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  const key = Buffer.from(b64, 'base64');
  return key.length >= 16 ? key : undefined;
}

function fresh(timestamp: string, now: number, window: number): boolean | undefined {
  if (!/^\d{1,12}$/.test(timestamp)) return undefined;
  return Math.abs(now - Number(timestamp)) <= window;
}

export function verifyDelivery(input: VerifyInput): VerifyResult {
  const { verification: v, secret, body, headers, now, replayWindowSeconds: window } = input;
  const refuse = (reason: Refusal): VerifyResult => ({ ok: false, reason });
  const verified: VerifyResult = { ok: true, verification: 'verified' };
  switch (v.scheme) {
    case 'none':
      return input.token !== undefined && safeEqual(input.token, secret)
        ? { ok: true, verification: 'secret-path' }
        : refuse('WEBHOOK_SECRET_PATH_INVALID');
    case 'hmac':
    case 'github': {
      const name = v.scheme === 'github' ? 'x-hub-signature-256' : v.header.toLowerCase();
      const prefix = v.scheme === 'github' ? 'sha256=' : v.prefix;
      const encoding = v.scheme === 'github' ? 'hex' : v.encoding;
      const given = header(headers, name);
      if (!given) return refuse('WEBHOOK_SIGNATURE_MISSING');
      if (!given.toLowerCase().startsWith(prefix.toLowerCase()))
        return refuse('WEBHOOK_SIGNATURE_INVALID');
      return sameBytes(decode(given.slice(prefix.length), encoding), hmac(secret, body))
        ? verified
        : refuse('WEBHOOK_SIGNATURE_INVALID');
    }
    case 'standard-webhooks': {
      const id = header(headers, 'webhook-id') ?? header(headers, 'svix-id');
      const timestamp = header(headers, 'webhook-timestamp') ?? header(headers, 'svix-timestamp');
      const signatures = header(headers, 'webhook-signature') ?? header(headers, 'svix-signature');
      if (!id || !timestamp || !signatures) return refuse('WEBHOOK_SIGNATURE_MISSING');
      const key = standardWebhooksKey(secret);
      if (!key) return refuse('WEBHOOK_SIGNATURE_INVALID');
      const expected = hmac(key, `${id}.${timestamp}.`, body);
      // Space-separated `v1,<base64>` entries: any one matching is enough (key rotation).
      const matches = signatures
        .split(' ')
        .some(
          (entry) =>
            entry.startsWith('v1,') && sameBytes(decode(entry.slice(3), 'base64'), expected),
        );
      if (!matches) return refuse('WEBHOOK_SIGNATURE_INVALID');
      return fresh(timestamp, now, window) ? verified : refuse('WEBHOOK_TIMESTAMP_STALE');
    }
    case 'stripe': {
      const given = header(headers, 'stripe-signature');
      if (!given) return refuse('WEBHOOK_SIGNATURE_MISSING');
      let timestamp: string | undefined;
      const v1: string[] = [];
      for (const part of given.split(',')) {
        const eq = part.indexOf('=');
        const [k, value] = [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
        if (k === 't') timestamp = value;
        else if (k === 'v1') v1.push(value);
      }
      if (!timestamp || !v1.length) return refuse('WEBHOOK_SIGNATURE_MISSING');
      const expected = hmac(secret, `${timestamp}.`, body);
      if (!v1.some((sig) => sameBytes(decode(sig, 'hex'), expected)))
        return refuse('WEBHOOK_SIGNATURE_INVALID');
      return fresh(timestamp, now, window) ? verified : refuse('WEBHOOK_TIMESTAMP_STALE');
    }
  }
}
