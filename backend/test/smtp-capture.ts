/**
 * A real SMTP server on loopback (`smtp-server`) that keeps every message it accepts, with its
 * subject and text/HTML parts decoded, so tests can read codes and links out of the mail Kiln
 * sends.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** Header value (unfolded) from a header block. */
function header(block: string, name: string): string | undefined {
  const unfolded = block.replace(/\r?\n[ \t]+/g, ' ');
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(unfolded);
  return m?.[1]?.trim();
}

function decodeBody(body: string, encoding: string | undefined): string {
  if (encoding?.toLowerCase() === 'quoted-printable') {
    const bytes = body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  if (encoding?.toLowerCase() === 'base64') return Buffer.from(body, 'base64').toString('utf8');
  return body;
}

/** The text/plain and text/html parts of a (possibly multipart) message. */
export function parseMessage(raw: string): { subject: string; text: string; html: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split);
  const body = raw.slice(split + 4);
  const out = { subject: header(head, 'Subject') ?? '', text: '', html: '' };
  const walk = (headers: string, content: string) => {
    const type = header(headers, 'Content-Type') ?? 'text/plain';
    const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
    if (type.toLowerCase().startsWith('multipart/') && boundary) {
      for (const part of content.split(`--${boundary}`).slice(1)) {
        if (part.startsWith('--')) break;
        const p = part.replace(/^\r?\n/, '');
        const at = p.indexOf('\r\n\r\n');
        if (at >= 0) walk(p.slice(0, at), p.slice(at + 4));
      }
      return;
    }
    const decoded = decodeBody(content, header(headers, 'Content-Transfer-Encoding'));
    if (type.toLowerCase().startsWith('text/html')) out.html = decoded;
    else if (type.toLowerCase().startsWith('text/plain')) out.text = decoded;
  };
  walk(head, body);
  return out;
}

export interface Captured {
  to: string[];
  from: string;
  subject: string;
  text: string;
  html: string;
  raw: string;
}

export class SmtpCapture {
  readonly messages: Captured[] = [];
  readonly logins: { username: string; password: string }[] = [];
  port = 0;
  private waiters: (() => void)[] = [];
  private readonly server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth: (auth, _session, callback) => {
      this.logins.push({ username: auth.username ?? '', password: auth.password ?? '' });
      if (auth.password === 'wrong') return callback(new Error('Invalid login'));
      callback(null, { user: auth.username });
    },
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', callback);
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        this.messages.push({
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          ...parseMessage(raw),
          raw,
        });
        for (const w of this.waiters.splice(0)) w();
        callback();
      });
    },
  });

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next message to this address (waits up to `ms`). */
  async next(to: string, after = 0, ms = 20_000): Promise<Captured> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.messages.slice(after).find((m) => m.to.includes(to.toLowerCase()));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no mail to ${to} within ${ms} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  count(to: string): number {
    return this.messages.filter((m) => m.to.includes(to.toLowerCase())).length;
  }
}

export const codeIn = (mail: Captured) => /\b(\d{6})\b/.exec(mail.text)?.[1];
export const linkIn = (mail: Captured) => /(https?:\/\/\S+)/.exec(mail.text)?.[1];
