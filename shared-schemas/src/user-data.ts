import { z } from 'zod';
import { mfaFactorSchema, userIdentitySchema, userSchema } from './auth.js';

// ---- phone sign-in (/api/auth/phone/*) -------------------------------------------------------

/**
 * A phone number as typed: `+14155550123`, `+1 (415) 555-0123`, or a national number when the
 * server has SMS_DEFAULT_COUNTRY. The server validates and normalises it to E.164 (400
 * AUTH_INVALID_PHONE when it is not a possible number).
 */
export const phoneNumberInputSchema = z.string().min(1).max(40);
const smsCodeSchema = z.string().regex(/^\d{6}$/, { error: 'must be the 6-digit code' });

export const sendPhoneCodeRequestSchema = z.object({ phone: phoneNumberInputSchema });
export const phoneCodeRequestSchema = z.object({
  phone: phoneNumberInputSchema,
  otp: smsCodeSchema,
});
export const phoneCodeAcceptedResponseSchema = z.object({
  success: z.literal(true),
  message: z.string(),
  /** The number as the server understood it (E.164). */
  phone: z.string(),
});

// ---- the user's own data (/api/auth/users/me/export) ------------------------------------------

const exportedSessionSchema = z.object({
  id: z.guid(),
  clientType: z.string(),
  userAgent: z.string().nullable(),
  ip: z.string().nullable(),
  createdAt: z.string(),
  lastUsedAt: z.string(),
  expiresAt: z.string(),
  revokedAt: z.string().nullable(),
  revokedReason: z.string().nullable(),
});
const exportedObjectSchema = z.object({
  bucket: z.string(),
  key: z.string(),
  size: z.number(),
  mimeType: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Where to fetch the bytes: a signed URL valid until `downloadExpiresAt` (or public). */
  downloadUrl: z.string(),
  downloadExpiresAt: z.string().nullable(),
});
const exportedMessageSchema = z.object({
  id: z.guid(),
  channel: z.string(),
  event: z.string(),
  payload: z.unknown(),
  createdAt: z.string(),
});
const exportedAuditEntrySchema = z.object({
  id: z.number(),
  actor: z.string(),
  action: z.string(),
  module: z.string(),
  details: z.unknown(),
  createdAt: z.string(),
});
const exportedTableSchema = z.object({
  schema: z.string(),
  table: z.string(),
  /** The column whose default is auth.uid(): the rows where it is the caller. */
  ownerColumn: z.string(),
  rows: z.array(z.record(z.string(), z.unknown())),
});

/** Everything Kiln holds about the caller, as one JSON document. */
export const userDataExportSchema = z.object({
  format: z.literal('kiln-user-export/1'),
  exportedAt: z.string(),
  user: userSchema,
  identities: z.array(userIdentitySchema),
  sessions: z.array(exportedSessionSchema),
  /** Without their secrets. */
  mfaFactors: z.array(mfaFactorSchema),
  storageObjects: z.array(exportedObjectSchema),
  realtimeMessages: z.array(exportedMessageSchema),
  auditEntries: z.array(exportedAuditEntrySchema),
  tables: z.array(exportedTableSchema),
});
export type UserDataExport = z.infer<typeof userDataExportSchema>;
