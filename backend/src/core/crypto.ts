import crypto from 'node:crypto';

/** AES-256-GCM encryption for values Kiln keeps at rest (keys, later secrets). */
export class SecretBox {
  private readonly key: Buffer;

  /** `secret` is ENCRYPTION_KEY, or JWT_SECRET when that is unset. */
  constructor(secret: string) {
    this.key = Buffer.from(
      crypto.hkdfSync('sha256', Buffer.from(secret, 'utf8'), 'kiln', 'kiln-encryption-v1', 32),
    );
  }

  encrypt(plaintext: string): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return ['v1', iv.toString('base64'), tag.toString('base64'), body.toString('base64')].join(':');
  }

  decrypt(sealed: string): string {
    const [version, iv, tag, body] = sealed.split(':');
    if (version !== 'v1' || !iv || !tag || body === undefined) {
      throw new Error('Unrecognised encrypted value');
    }
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString(
      'utf8',
    );
  }
}

export function sha256(value: string): Buffer {
  return crypto.createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time string comparison (compares digests so lengths do not leak). */
export function safeEqual(a: string, b: string): boolean {
  return crypto.timingSafeEqual(sha256(a), sha256(b));
}

export function randomToken(bytes = 32): string {
  return crypto.randomBytes(bytes).toString('base64url');
}
