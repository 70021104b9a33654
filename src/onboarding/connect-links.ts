/**
 * Connect links and page grants: short-lived, Fernet-sealed values the bridge hands out and later takes back,
 * so it keeps no state for them. Sealed means encrypted and authenticated with the bridge's key ring: a browser
 * can carry them but can neither read nor forge nor alter them. Each names its purpose, so one kind can never
 * be taken for another (or for any other sealed value the bridge issues).
 *
 *  - A connect link (POST /admin/connect-links) names the tenant and the Chatwoot installation new channels go
 *    to, and expires after CONNECT_LINK_TTL_S. Whoever holds it may connect channels for that tenant until
 *    then, like a password reset link: no admin key ever reaches the browser.
 *  - A page grant carries the Page tokens read from /me/accounts between the two steps of connecting Pages
 *    (list, then connect the chosen ones), for ten minutes, bound to the tenant of the link it was made under,
 *    and the app-scoped id of the Facebook user who logged in (GET /me with their token), so the connections it
 *    makes record who granted their tokens: the id Meta's Deauthorize and Data Deletion callbacks name.
 */
import { randomBytes } from 'node:crypto';
import type { Sealer } from '../queue/sealed';

export interface ConnectLink {
  id: string;
  tenantId: string;
  installationId: string;
  /** Who made the link (audit actor), so what is done through it is recorded in their name. */
  createdBy: string;
  expiresAt: Date;
}

export interface GrantedPage {
  id: string;
  name: string;
  token: string;
  instagram?: { id: string; username?: string };
}

/** What a page grant carries: the Pages with their tokens, and who granted them. */
export interface PageGrant {
  pages: GrantedPage[];
  /** The app-scoped id of the Facebook user whose login gave the Page tokens (absent in grants made before it was kept). */
  grantedByUserId?: string;
}

const LINK = 'connect-link.v1';
const GRANT = 'page-grant.v1';
const GRANT_TTL_MS = 10 * 60_000;

interface LinkPayload { p: typeof LINK; l: string; t: string; i: string; a: string; e: number }
interface GrantPayload { p: typeof GRANT; t: string; e: number; pages: GrantedPage[]; u?: string }

export type OpenedLink = { link: ConnectLink } | { invalid: 'expired' | 'unreadable' };

export class ConnectTokens {
  constructor(private readonly sealer: Sealer, private readonly linkTtlS: number) {}

  mintLink(input: { tenantId: string; installationId: string; createdBy: string }, now = Date.now()): { token: string; link: ConnectLink } {
    const link: ConnectLink = {
      id: `lnk_${randomBytes(9).toString('base64url')}`, tenantId: input.tenantId, installationId: input.installationId,
      createdBy: input.createdBy, expiresAt: new Date(now + this.linkTtlS * 1000),
    };
    const payload: LinkPayload = { p: LINK, l: link.id, t: link.tenantId, i: link.installationId, a: link.createdBy, e: link.expiresAt.getTime() };
    return { token: this.sealer.seal(payload), link };
  }

  openLink(token: string, now = Date.now()): OpenedLink {
    const payload = this.open<LinkPayload>(token, LINK);
    if (!payload) return { invalid: 'unreadable' };
    if (payload.e <= now) return { invalid: 'expired' };
    return { link: { id: payload.l, tenantId: payload.t, installationId: payload.i, createdBy: payload.a, expiresAt: new Date(payload.e) } };
  }

  sealGrant(tenantId: string, grant: PageGrant, now = Date.now()): string {
    const payload: GrantPayload = { p: GRANT, t: tenantId, e: now + GRANT_TTL_MS, pages: grant.pages, ...(grant.grantedByUserId ? { u: grant.grantedByUserId } : {}) };
    return this.sealer.seal(payload);
  }

  /** The granted Pages and who granted them, or null when the grant is unreadable, expired, or was made for another tenant. */
  openGrant(token: string, tenantId: string, now = Date.now()): PageGrant | null {
    const payload = this.open<GrantPayload>(token, GRANT);
    if (!payload || payload.t !== tenantId || payload.e <= now || !Array.isArray(payload.pages)) return null;
    return { pages: payload.pages, ...(typeof payload.u === 'string' && payload.u ? { grantedByUserId: payload.u } : {}) };
  }

  private open<T extends { p: string }>(token: string, purpose: string): T | null {
    if (typeof token !== 'string' || token.length === 0 || token.length > 16_384) return null;
    try {
      const value = this.sealer.open<T>(token);
      return value && typeof value === 'object' && value.p === purpose ? value : null;
    } catch {
      return null;
    }
  }
}
