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

/**
 * How a client sends an object's bytes: through Kiln (`direct`: a PUT to Kiln's object URL), or a
 * form POST straight to the provider (`presigned`), confirmed afterwards.
 */
export type UploadTarget =
  { method: 'direct' } | { method: 'presigned'; url: string; fields: Record<string, string> };

/** One stored version of an object, as a download URL names it. */
export interface ObjectVersion {
  bucket: string;
  key: string;
  /** The provider's path of this version's bytes. */
  path: string;
}

/** What a download URL is for. */
export interface DownloadRequest extends ObjectVersion {
  /** Readable by anyone (a public bucket). */
  public: boolean;
  /** Kiln's own URL of the object. */
  objectUrl: string;
  filename: string;
  contentType: string;
}

/** A URL that reads an object, and when it stops working (null: it does not). */
export interface DownloadUrl {
  method: 'direct' | 'presigned';
  url: string;
  expiresAt: Date | null;
}

/**
 * Where an object's bytes live. Paths are chosen by Kiln (never taken from user keys) and are
 * written once: replacing an object writes a new path. The service and the routes never ask which
 * provider they hold: what differs (how uploads and downloads are handed out, how long orphaned
 * bytes are kept) is answered here.
 */
export interface StorageProvider {
  /**
   * How old unreferenced bytes must be before the sweep at start deletes them: 0 when the store
   * belongs to this process alone, longer when other instances may be uploading into it.
   */
  readonly startSweepGraceMs: number;
  /** Streams `body` to `path`; nothing is visible at `path` unless the whole body arrived. */
  put(path: string, body: Readable, contentType: string): Promise<StoredBytes>;
  /** A stream of the bytes (or of `range`), or undefined when nothing is stored at `path`. */
  get(path: string, range?: ByteRange): Promise<Readable | undefined>;
  /** Size and etag, or undefined when nothing is stored at `path`. */
  head(path: string): Promise<StoredBytes | undefined>;
  delete(path: string): Promise<void>;
  /** Every stored path (for the orphan sweep). */
  list(): AsyncIterable<{ path: string; modifiedAt: Date }>;
  /**
   * Where a client sends the bytes of a new version stored at `path` (at most `maxSize` bytes of
   * `contentType`, within `expiresInSeconds`).
   */
  uploadTarget(
    path: string,
    contentType: string,
    maxSize: number,
    expiresInSeconds: number,
  ): Promise<UploadTarget>;
  /** A URL that reads `object` for `expiresInSeconds` (or for good, when the provider says so). */
  downloadUrl(object: DownloadRequest, expiresInSeconds: number): Promise<DownloadUrl>;
  /** Whether `token` (from a URL `downloadUrl` handed out) grants reading this version. */
  tokenGrants(version: ObjectVersion, token: string): boolean;
  close?(): Promise<void>;
}
