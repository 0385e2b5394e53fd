/**
 * What may be written to the audit trail. One function, `auditSafe`, shapes every record's
 * details: statement text is kept (what was run is the point of an audit trail) but the values
 * bound to it are not, fields named like secrets are dropped, and anything inside text that
 * looks like a credential (keys, tokens, JWTs, passwords in role statements, passwords in
 * connection URLs, private keys) is replaced by a marker.
 */

export const REDACTED = '[redacted]';

/** Fields whose value is never kept, unless it is a flag (a boolean holds no secret). */
const SECRET_FIELD =
  /password|passwd|passphrase|secret|token|value$|key$|code|credential|otp|authorization|cookie|private/i;
/** Field names that end like a secret field but only name a thing. */
const NAME_FIELDS = new Set(['key', 'bucketName']);
/** Fields holding SQL statement text: kept, with secret-looking literals masked. */
const STATEMENT_FIELD = /^(query|sql|statements?|using|withCheck)$/i;
/** Fields holding values bound to a statement: never kept. */
const PARAMETER_FIELD = /^(params|parameters|values|args|bindings)$/i;

const MAX_STRING = 200;
const MAX_STATEMENT = 2000;
const MAX_DEPTH = 4;
const MAX_ITEMS = 20;

/** Secret-looking pieces of text, each replaced by `[redacted]` (or keeps a harmless prefix). */
const TEXT_PATTERNS: Array<[RegExp, string | ((...m: string[]) => string)]> = [
  // PEM private keys.
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, REDACTED],
  // PASSWORD 'x' / PASSWORD E'x' / PASSWORD $$x$$ in CREATE/ALTER ROLE|USER, and
  // ENCRYPTED PASSWORD; also password '…' options of CREATE SERVER / USER MAPPING.
  [
    /\b(password)(\s+|\s*=\s*)(E?'(?:[^']|'')*'|\$([A-Za-z_]*)\$[\s\S]*?\$\4\$)/gi,
    (_m, word: string, gap: string) => `${word}${gap}'${REDACTED}'`,
  ],
  // credential = '…' style assignments in SQL, JSON or text (password = 'x', "api_key": "y",
  // token=z1…); an unquoted value only when it looks like a token (8+ characters, a digit).
  [
    /\b([A-Za-z_]*(?:password|passwd|secret|token|api_?key|private_?key|access_?key)[A-Za-z_]*)("?\s*(?:=|:=|:|=>)\s*)('(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|(?=[A-Za-z0-9_+/=.~-]*\d)[A-Za-z0-9_+/=.~-]{8,})/gi,
    (_m, name: string, op: string, value: string) =>
      `${name}${op}${value.startsWith('"') ? `"${REDACTED}"` : value.startsWith("'") ? `'${REDACTED}'` : REDACTED}`,
  ],
  // user:password@ in connection URLs.
  [
    /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@'"]*):[^\s@/'"]+@/gi,
    (_m, head: string) => `${head}:${REDACTED}@`,
  ],
  // JSON Web Tokens (header.payload.signature, base64url).
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // Kiln's own keys.
  [/\b(ik|anon)_[0-9a-f]{16,}\b/gi, (_m, prefix: string) => `${prefix}_${REDACTED}`],
  // Payment, AI and hosting provider keys: sk_live_…, rk_test_…, whsec_…, sk-…, sk-or-v1-…,
  // ghp_…, github_pat_…, xoxb-…, glpat-…, AKIA…, AIza….
  [
    /\b((?:sk|pk|rk)_(?:live|test)_|whsec_|sk-(?:or-v1-|proj-|ant-)?|gh[pousr]_|github_pat_|xox[abposr]-|glpat-)[A-Za-z0-9_-]{8,}/g,
    (_m, prefix: string) => `${prefix}${REDACTED}`,
  ],
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/g, REDACTED],
  [/\bAIza[0-9A-Za-z_-]{35}\b/g, REDACTED],
  // Authorization header values.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, (_m, scheme: string) => `${scheme} ${REDACTED}`],
  // Any other quoted token-like literal: long, no spaces, letters and digits mixed (a random
  // key more than a word or a name), however it is quoted: '…' (and E'…'), $$…$$ or $tag$…$tag$,
  // "…" (a JSON value inside a literal). UUIDs are identifiers, not secrets: they stay.
  [
    /('|"|\$[A-Za-z_]*\$)([A-Za-z0-9_+/=.-]{32,})(?:'|"|\$[A-Za-z_]*\$)/g,
    (m: string, open: string, body: string) =>
      !m.endsWith(open) || !tokenLike(body) ? m : `${open}${REDACTED}${open}`,
  ],
  // Capability URLs (webhooks of Slack, Discord, Zapier…): a path segment or query value that is
  // a random token (20+ characters, letters and digits mixed) is the secret; the rest stays.
  [
    /\bhttps?:\/\/[^\s'"<>]+/gi,
    (url: string) =>
      url.replace(/([/=])([A-Za-z0-9_-]{20,})(?=[/?#&]|$)/g, (m, lead: string, body: string) =>
        tokenLike(body) ? `${lead}${REDACTED}` : m,
      ),
  ],
];

/** Letters and digits mixed, not a UUID: a random key more than a word or a name. */
function tokenLike(body: string): boolean {
  return (
    !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(body) &&
    /[0-9]/.test(body) &&
    /[A-Za-z]/.test(body)
  );
}

/** The text with every secret-looking piece masked. */
export function redactSecretsInText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of TEXT_PATTERNS) {
    out = out.replace(pattern, replacement as (substring: string, ...args: string[]) => string);
  }
  return out;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function shape(value: unknown, field: string, depth: number): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    // Masked before clipping, so a cut can never leave half a secret unrecognised.
    const statement = STATEMENT_FIELD.test(field);
    return clip(redactSecretsInText(value), statement ? MAX_STATEMENT : MAX_STRING);
  }
  if (Array.isArray(value)) {
    if (STATEMENT_FIELD.test(field) && value.every((v) => typeof v === 'string')) {
      const kept = value.slice(0, MAX_ITEMS).map((v) => shape(v, field, depth + 1));
      return value.length > MAX_ITEMS ? [...kept, `… ${value.length - MAX_ITEMS} more`] : kept;
    }
    if (depth >= MAX_DEPTH || value.length > MAX_ITEMS) return `[${value.length} items]`;
    return value.map((v) => shape(v, field, depth + 1));
  }
  if (typeof value === 'object') {
    if (depth >= MAX_DEPTH) return '{…}';
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (PARAMETER_FIELD.test(k)) {
        out[k] = Array.isArray(v) ? `${REDACTED}: ${v.length} values` : REDACTED;
      } else if (SECRET_FIELD.test(k) && !NAME_FIELDS.has(k) && typeof v !== 'boolean') {
        out[k] = REDACTED;
      } else {
        out[k] = shape(v, k, depth + 1);
      }
    }
    return out;
  }
  return undefined;
}

/**
 * An audit record's details as they may be stored: the one gate every record passes through
 * (`AuditLog.record`). Objects only; anything else becomes `{}`.
 */
export function auditSafe(details: unknown): Record<string, unknown> {
  if (!details || typeof details !== 'object' || Array.isArray(details)) return {};
  return shape(details, '', 0) as Record<string, unknown>;
}
