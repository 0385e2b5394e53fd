import type { Readable } from 'node:stream';

/** What a provider reports about bytes it stored. */
export interface StoredBytes {
  size: number;
  etag: string;
}

export interface ByteRange {
  start: number;
  end: number; // inclusive
}

/** Where presigned uploads go: a form POST straight to the provider. */
export interface PresignedPost {
  url: string;
  fields: Record<string, string>;
}

/**
 * Where an object's bytes live. Paths are chosen by Kiln (never taken from user keys) and are
 * written once: replacing an object writes a new path.
 */
export interface StorageProvider {
  readonly kind: 'local' | 's3';
  /** Streams `body` to `path`; nothing is visible at `path` unless the whole body arrived. */
  put(path: string, body: Readable, contentType: string): Promise<StoredBytes>;
  /** A stream of the bytes (or of `range`), or undefined when nothing is stored at `path`. */
  get(path: string, range?: ByteRange): Promise<Readable | undefined>;
  /** Size and etag, or undefined when nothing is stored at `path`. */
  head(path: string): Promise<StoredBytes | undefined>;
  delete(path: string): Promise<void>;
  /** Every stored path (for the orphan sweep). */
  list(): AsyncIterable<{ path: string; modifiedAt: Date }>;
  /** Presigned form upload (S3 only). */
  presignedPost?(
    path: string,
    contentType: string,
    maxSize: number,
    expiresInSeconds: number,
  ): Promise<PresignedPost>;
  /** Presigned GET URL (S3 only). */
  presignedGet?(
    path: string,
    expiresInSeconds: number,
    filename: string,
    contentType: string,
  ): Promise<string>;
  close?(): Promise<void>;
}
