/**
 * What the bridge remembers about a connection's Meta token, next to the sealed token itself: what kind it is,
 * when it expires, what it may do and on which WABAs / Pages, when it was last inspected and renewed, and why
 * the connection's health is what it is. Nothing here is secret (the token stays sealed in `metaToken`), so the
 * admin API may show all of it.
 */
import { Schema } from 'mongoose';

export type MetaTokenKind = 'user' | 'page' | 'system_user' | 'app' | 'instagram_login' | 'unknown';
export const META_TOKEN_KINDS: readonly MetaTokenKind[] = ['user', 'page', 'system_user', 'app', 'instagram_login', 'unknown'];

export interface GranularScope {
  scope: string;
  targetIds: string[];
}

export interface TokenDetails {
  kind: MetaTokenKind;
  /** null: never expires; undefined: not known (never inspected, or Meta did not say). */
  expiresAt?: Date | null;
  dataAccessExpiresAt?: Date | null;
  scopes: string[];
  granularScopes: GranularScope[];
  /** When Meta was last asked (inspected, renewed, or a renewal attempted). */
  checkedAt: Date;
  renewedAt?: Date;
  /** Why the health is not ok, or why the last check could not finish: words an administrator can act on. */
  reason?: string;
}

const granularScopeSchema = new Schema<GranularScope>({ scope: { type: String, required: true }, targetIds: { type: [String], default: [] } }, { _id: false });

export const tokenDetailsSchema = new Schema<TokenDetails>(
  {
    kind: { type: String, required: true, enum: META_TOKEN_KINDS },
    expiresAt: { type: Date, required: false },
    dataAccessExpiresAt: { type: Date, required: false },
    scopes: { type: [String], default: [] },
    granularScopes: { type: [granularScopeSchema], default: [] },
    checkedAt: { type: Date, required: true },
    renewedAt: { type: Date, required: false },
    reason: { type: String, required: false },
  },
  { _id: false },
);

/** As read from MongoDB (lean documents may lack defaults or hold nulls). */
export function tokenDetailsOf(doc: Partial<TokenDetails> | null | undefined): TokenDetails | undefined {
  if (!doc || !doc.kind || !doc.checkedAt) return undefined;
  return {
    kind: doc.kind,
    expiresAt: doc.expiresAt === undefined ? undefined : doc.expiresAt,
    dataAccessExpiresAt: doc.dataAccessExpiresAt ?? undefined,
    scopes: doc.scopes ?? [],
    granularScopes: (doc.granularScopes ?? []).map((g) => ({ scope: g.scope, targetIds: g.targetIds ?? [] })),
    checkedAt: doc.checkedAt,
    renewedAt: doc.renewedAt ?? undefined,
    reason: doc.reason ?? undefined,
  };
}

/** For the admin API: dates as ISO strings, "never" spelled out. */
export function tokenDetailsView(details: TokenDetails | undefined): Record<string, unknown> | undefined {
  if (!details) return undefined;
  return {
    kind: details.kind,
    expiresAt: details.expiresAt === null ? 'never' : details.expiresAt?.toISOString(),
    dataAccessExpiresAt: details.dataAccessExpiresAt?.toISOString(),
    scopes: details.scopes,
    granularScopes: details.granularScopes,
    lastCheckedAt: details.checkedAt.toISOString(),
    renewedAt: details.renewedAt?.toISOString(),
    reason: details.reason,
  };
}
