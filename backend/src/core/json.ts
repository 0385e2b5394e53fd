/**
 * JSON without losing numbers. `JSON.parse` turns every number into a double, so
 * `12345678901234567890123`, `0.123456789012345678901234567890` or a bigint beyond 2^53 change
 * on their way to PostgreSQL, and `1e999999` becomes Infinity (then `null`). The paths that hand
 * a client's JSON to PostgreSQL (records writes, RPC arguments, imports) and back (realtime
 * deliveries) parse with {@link parseJsonExact} and write with {@link stringifyJson}: a number
 * whose text a double does not reproduce exactly is kept as a {@link JsonNumber} holding that
 * text, which PostgreSQL then reads itself (exactly, or refusing it: 22003 for 1e999999).
 *
 * The parser walks without recursion; what is serialised is bounded in depth by the callers
 * (core/http.ts jsonProblem).
 */
import crypto from 'node:crypto';

/** Set while stringifyJson runs: JsonNumber.toJSON then answers a marker (see there). */
let writingExact = false;
const MARK = `kiln-json-${crypto.randomBytes(12).toString('hex')}`;
// JSON.stringify writes the marker's NUL as \u0000; the number's text holds no quote.
const MARKED = new RegExp(`"\\\\u0000${MARK}:([^"]*)"`, 'g');

/** A JSON number kept as the client wrote it (one no double holds exactly). */
export class JsonNumber {
  constructor(readonly text: string) {}

  toString(): string {
    return this.text;
  }

  valueOf(): number {
    return Number(this.text);
  }

  /** For code outside the exact paths that serialises it anyway: the nearest double. */
  toJSON(): number | string {
    if (writingExact) return `\u0000${MARK}:${this.text}`;
    const n = Number(this.text);
    return Number.isFinite(n) ? n : this.text;
  }

  /** As a query parameter (node-postgres calls this): the exact text. */
  toPostgres(): string {
    return this.text;
  }
}

const NUMBER_TOKENS = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** A number literal a double reproduces exactly (JSON.stringify writes it back the same). */
function isCanonical(literal: string): boolean {
  return String(Number(literal)) === literal;
}

function numberOf(literal: string): number | JsonNumber {
  return isCanonical(literal) ? Number(literal) : new JsonNumber(literal);
}

/** Whether any number literal outside strings would change through a double. */
function hasInexactNumber(text: string): boolean {
  NUMBER_TOKENS.lastIndex = 0;
  for (let m = NUMBER_TOKENS.exec(text); m; m = NUMBER_TOKENS.exec(text)) {
    if (m[0].charCodeAt(0) !== 34 && !isCanonical(m[0])) return true;
  }
  return false;
}

/**
 * Parses JSON text like `JSON.parse` (any value at the top, SyntaxError when invalid), except
 * that numbers a double cannot reproduce are {@link JsonNumber}s. Text whose numbers are all
 * exact doubles (nearly every body) is parsed by `JSON.parse` itself.
 */
export function parseJsonExact(text: string): unknown {
  if (!hasInexactNumber(text)) return JSON.parse(text);
  return new ExactParser(text).parse();
}

interface Frame {
  container: unknown[] | Record<string, unknown>;
  key: string | undefined;
}

class ExactParser {
  private i = 0;

  constructor(private readonly text: string) {}

  parse(): unknown {
    const { text } = this;
    const stack: Frame[] = [];
    this.ws();
    for (;;) {
      let value: unknown;
      const c = text.charCodeAt(this.i);
      if (c === 123 /* { */ || c === 91 /* [ */) {
        this.i++;
        this.ws();
        const array = c === 91;
        const container = array ? [] : {};
        if (text.charCodeAt(this.i) === (array ? 93 : 125)) {
          this.i++;
          value = container;
        } else {
          stack.push({ container, key: array ? undefined : this.key() });
          continue;
        }
      } else {
        value = this.scalar(c);
      }
      // Attach the value to its container; close the containers it completes.
      for (;;) {
        const top = stack[stack.length - 1];
        if (!top) {
          this.ws();
          if (this.i !== text.length) this.fail();
          return value;
        }
        if (Array.isArray(top.container)) top.container.push(value);
        else setKey(top.container, top.key!, value);
        this.ws();
        const d = text.charCodeAt(this.i);
        if (d === 44 /* , */) {
          this.i++;
          this.ws();
          if (!Array.isArray(top.container)) top.key = this.key();
          break;
        }
        if (d === (Array.isArray(top.container) ? 93 : 125)) {
          this.i++;
          stack.pop();
          value = top.container;
          continue;
        }
        this.fail();
      }
    }
  }

  private scalar(c: number): unknown {
    const { text } = this;
    if (c === 34) return this.string();
    for (const [word, value] of LITERALS) {
      if (text.startsWith(word, this.i)) {
        this.i += word.length;
        return value;
      }
    }
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(text);
    if (!m) this.fail();
    this.i += m![0].length;
    return numberOf(m![0]);
  }

  /** An object key and its colon; leaves the position at the value. */
  private key(): string {
    if (this.text.charCodeAt(this.i) !== 34) this.fail();
    const key = this.string();
    this.ws();
    if (this.text.charCodeAt(this.i) !== 58 /* : */) this.fail();
    this.i++;
    this.ws();
    return key;
  }

  private string(): string {
    const { text } = this;
    const start = this.i;
    let escaped = false;
    this.i++;
    for (;;) {
      if (this.i >= text.length) this.fail();
      const c = text.charCodeAt(this.i);
      if (c === 34) break;
      if (c === 92) {
        escaped = true;
        this.i += 2;
      } else {
        if (c < 32) this.fail();
        this.i++;
      }
    }
    this.i++;
    const raw = text.slice(start, this.i);
    return escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  }

  private ws(): void {
    const { text } = this;
    while (this.i < text.length) {
      const c = text.charCodeAt(this.i);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return;
      this.i++;
    }
  }

  private fail(): never {
    throw new SyntaxError(`Unexpected token in JSON at position ${this.i}`);
  }
}

const LITERALS: Array<[string, unknown]> = [
  ['true', true],
  ['false', false],
  ['null', null],
];

function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  // As JSON.parse: "__proto__" is an own property, not the prototype.
  if (key === '__proto__')
    Object.defineProperty(target, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  else target[key] = value;
}

/**
 * `JSON.stringify` for values that may hold {@link JsonNumber}s, which are written as their text.
 * The native serialiser does the work: while it runs, a JsonNumber's toJSON answers a marker
 * string (a random tag no client can guess) that is then replaced by the number's text.
 */
export function stringifyJson(value: unknown): string {
  return writingJsonExactly(() => JSON.stringify(value));
}

/**
 * Runs `write`, a serialiser built on JSON.stringify (Socket.IO's packet encoder, say), so that
 * the JsonNumbers it meets come out as their text.
 */
export function writingJsonExactly(write: () => string): string {
  writingExact = true;
  let text: string;
  try {
    text = write();
  } finally {
    writingExact = false;
  }
  return text !== undefined && text.includes(MARK) ? text.replace(MARKED, '$1') : text;
}
