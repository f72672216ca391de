import type { SessionRecord, SessionSummary } from './types.js';

const KINDS = new Set(['workload', 'person']);
const ORIGINS = new Set(['login', 'password', 'exchange', 'browser', 'device']);

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Records come back from a shared store: anything that is not exactly a v1
 * session is treated as absent (fail closed), never trusted partially.
 */
export function parseSessionRecord(raw: string): SessionRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  const ok =
    r.v === 1 &&
    isString(r.id) &&
    KINDS.has(r.kind as string) &&
    ORIGINS.has(r.origin as string) &&
    isString(r.issuer) &&
    isString(r.issuerId) &&
    isString(r.subject) &&
    typeof r.claims === 'object' &&
    r.claims !== null &&
    !Array.isArray(r.claims) &&
    isString(r.idTokenHash) &&
    isNumber(r.idTokenExpiresAt) &&
    (r.idTokenId === undefined || isString(r.idTokenId)) &&
    isString(r.service) &&
    Array.isArray(r.rules) &&
    r.rules.every(isString) &&
    (r.clientId === undefined || isString(r.clientId)) &&
    (r.device === undefined || isString(r.device)) &&
    isNumber(r.createdAt) &&
    isNumber(r.expiresAt) &&
    isNumber(r.generation);
  return ok ? (value as SessionRecord) : null;
}

export function summarize(record: SessionRecord): SessionSummary {
  return {
    id: record.id,
    kind: record.kind,
    origin: record.origin,
    issuer: record.issuer,
    issuerId: record.issuerId,
    subject: record.subject,
    service: record.service,
    rules: record.rules,
    ...(record.clientId !== undefined ? { clientId: record.clientId } : {}),
    ...(record.device !== undefined ? { device: record.device } : {}),
    createdAt: new Date(record.createdAt).toISOString(),
    expiresAt: new Date(record.expiresAt).toISOString(),
    generation: record.generation,
  };
}
