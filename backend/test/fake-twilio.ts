/**
 * A local stand-in for Twilio's Messages API, so Kiln's real SMS client code runs against it:
 * `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP basic auth (account SID and
 * auth token) and a form body (`To`, `Body`, `From` or `MessagingServiceSid`). Answers 201 with a
 * message resource, or Twilio's error shape `{code, message, more_info, status}` (401 for bad
 * credentials, 400 for a missing parameter). Messages are kept in memory; `next(to)` waits for
 * the next one to a number.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSms {
  sid: string;
  to: string;
  from?: string;
  messagingServiceSid?: string;
  body: string;
}

export interface FakeTwilio {
  url: string;
  accountSid: string;
  authToken: string;
  messages: FakeSms[];
  /** The next message to `to` (one already received and not yet taken, or the next to come). */
  next(to: string, timeoutMs?: number): Promise<FakeSms>;
  /** The 6-digit code in the next message to `to`. */
  nextCode(to: string): Promise<string>;
  /** Answer the next sends with this HTTP error (Twilio's shape) until cleared. */
  failWith(status: number | undefined): void;
  close(): Promise<void>;
}

export async function startFakeTwilio(): Promise<FakeTwilio> {
  const accountSid = 'AC' + crypto.randomBytes(16).toString('hex');
  const authToken = crypto.randomBytes(16).toString('hex');
  const messages: FakeSms[] = [];
  const taken = new Set<FakeSms>();
  const waiters: { to: string; resolve: (m: FakeSms) => void }[] = [];
  let failure: number | undefined;

  const error = (res: http.ServerResponse, status: number, code: number, message: string) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        code,
        message,
        more_info: `https://www.twilio.com/docs/errors/${code}`,
        status,
      }),
    );
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = `/2010-04-01/Accounts/${accountSid}/Messages.json`;
      if (req.method !== 'POST' || req.url !== path) {
        error(res, 404, 20404, 'The requested resource was not found');
        return;
      }
      const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        error(res, 401, 20003, 'Authenticate');
        return;
      }
      if (failure) {
        error(res, failure, 30008, 'Unknown error');
        return;
      }
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const to = form.get('To');
      const body = form.get('Body');
      const from = form.get('From') ?? undefined;
      const messagingServiceSid = form.get('MessagingServiceSid') ?? undefined;
      if (!to || !body || (!from && !messagingServiceSid)) {
        error(res, 400, 21604, "A 'To', 'Body' and 'From' phone number is required.");
        return;
      }
      const message: FakeSms = {
        sid: 'SM' + crypto.randomBytes(16).toString('hex'),
        to,
        from,
        messagingServiceSid,
        body,
      };
      messages.push(message);
      const waiter = waiters.findIndex((w) => w.to === to);
      if (waiter >= 0) {
        taken.add(message);
        waiters.splice(waiter, 1)[0]!.resolve(message);
      }
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          sid: message.sid,
          account_sid: accountSid,
          to,
          from: from ?? null,
          messaging_service_sid: messagingServiceSid ?? null,
          body,
          status: 'queued',
          num_segments: '1',
          direction: 'outbound-api',
          date_created: new Date().toUTCString(),
          uri: `/2010-04-01/Accounts/${accountSid}/Messages/${message.sid}.json`,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const next = (to: string, timeoutMs = 5000) => {
    const waiting = messages.find((m) => m.to === to && !taken.has(m));
    if (waiting) {
      taken.add(waiting);
      return Promise.resolve(waiting);
    }
    return new Promise<FakeSms>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no SMS to ${to} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      waiters.push({
        to,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  };

  return {
    url: `http://127.0.0.1:${port}`,
    accountSid,
    authToken,
    messages,
    next,
    async nextCode(to) {
      const m = await next(to);
      const code = /\b(\d{6})\b/.exec(m.body)?.[1];
      if (!code) throw new Error(`no code in "${m.body}"`);
      return code;
    },
    failWith(status) {
      failure = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
