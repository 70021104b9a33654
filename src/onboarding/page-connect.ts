/**
 * Facebook Login for Business for Pages and Instagram, server side, in two steps so the admin chooses:
 *
 *   authorize: login code → user token → long-lived user token (Page tokens read with a long-lived token do not
 *              expire) → GET /me?fields=id (who logged in: the app-scoped user id, the one Meta's Deauthorize and
 *              Data Deletion callbacks name) → GET /me/accounts (each Page with its token and linked Instagram
 *              account). The Pages go back to the page; their tokens and the user id inside a sealed grant
 *              (connect-links.ts), never in clear.
 *   connect:   for each chosen Page, the Page is subscribed to the app's webhook fields
 *              (POST /{page-id}/subscribed_apps), its Instagram account is confirmed
 *              (GET /{page-id}?fields=instagram_business_account), and a Messenger and/or Instagram connection
 *              is placed into the tenant's Chatwoot installation with the Page token and who granted it (the
 *              Instagram one also with its Page, whose subscription it shares: src/onboarding/unsubscribe.ts).
 * One Page failing does not stop the others; each result says in plain words what happened.
 */
import type { GraphClient } from '../channels/meta/graph-client';
import type { ChatwootInstallation } from '../store/chatwoot-installations';
import type { ChatwootInstaller, PlacedConnection } from './chatwoot-installer';
import type { ConnectTokens, GrantedPage } from './connect-links';
import { FACEBOOK_ID } from '../channels/meta/signed-request';
import { OnboardingError, fromGraph } from './errors';
import type { MetaOAuth } from './meta-oauth';

/** The Page webhook fields the Messenger and Instagram channels read (meta-api-notes §5). */
export const PAGE_FIELDS = ['messages', 'messaging_postbacks', 'message_deliveries', 'message_reads', 'message_echoes', 'message_reactions', 'message_edits', 'messaging_referrals'];

/** Pages read per /me/accounts request, and at most this many requests (a business with more is rare). */
const PAGE_LIMIT = 100;
const MAX_PAGE_REQUESTS = 10;

export interface PageConnectDeps {
  graph: GraphClient;
  oauth: MetaOAuth;
  installer: ChatwootInstaller;
  tokens: ConnectTokens;
}

interface AccountsJson {
  data?: Array<{ id?: string; name?: string; access_token?: string; instagram_business_account?: { id?: string; username?: string } }>;
  paging?: { cursors?: { after?: string }; next?: string };
}

export interface AuthorizedPages {
  pages: Array<{ id: string; name: string; instagram?: { id: string; username?: string } }>;
  grant: string;
}

export async function authorizePages(deps: PageConnectDeps, tenantId: string, code: string): Promise<AuthorizedPages> {
  const short = await deps.oauth.exchangeCode(code).catch((err: unknown) => {
    const wrapped = fromGraph('exchanging the Facebook login code', err);
    throw wrapped.reason === 'meta_refused'
      ? new OnboardingError('login_code_refused', 'Facebook did not accept the login code: it expired (codes last about 30 seconds) or was already used. Click "Connect Pages" again.', 'invalid_request', wrapped.technical)
      : wrapped;
  });
  const { accessToken } = await deps.oauth.longLivedUserToken(short.accessToken)
    .catch((err: unknown) => { throw fromGraph('making the login last (long-lived token)', err); });
  // Read with the person's own token, so it is their app-scoped id: what Meta's callbacks name when they leave.
  const me = await deps.graph.get<{ id?: unknown }>('me', accessToken, { fields: 'id' })
    .catch((err: unknown) => { throw fromGraph('reading who logged in to Facebook', err); });
  if (typeof me.id !== 'string' || !FACEBOOK_ID.test(me.id)) {
    throw new OnboardingError('no_user_id', 'Facebook did not say who logged in, so this bridge cannot record who granted the Pages. Nothing was connected; click "Connect Pages" again.', 'upstream_failed', `GET /me answered id ${JSON.stringify(me.id)}`);
  }

  const granted: GrantedPage[] = [];
  let after: string | undefined;
  for (let i = 0; i < MAX_PAGE_REQUESTS; i++) {
    const res = await deps.graph.get<AccountsJson>('me/accounts', accessToken, {
      fields: 'id,name,access_token,instagram_business_account', limit: String(PAGE_LIMIT), ...(after ? { after } : {}),
    }).catch((err: unknown) => { throw fromGraph('listing your Facebook Pages', err); });
    for (const p of res.data ?? []) {
      if (!p.id || !/^\d+$/.test(p.id) || !p.access_token) continue;
      const ig = p.instagram_business_account?.id;
      granted.push({ id: p.id, name: p.name ?? p.id, token: p.access_token, ...(ig ? { instagram: { id: ig, username: p.instagram_business_account?.username } } : {}) });
    }
    after = res.paging?.next ? res.paging.cursors?.after : undefined;
    if (!after) break;
  }
  if (granted.length === 0) {
    throw new OnboardingError('no_pages', 'This Facebook login manages no Page this app may use. Log in again and select the Pages (and their Instagram accounts) in the dialog.', 'invalid_request');
  }
  return {
    pages: granted.map(({ token: _token, ...shown }) => shown),
    grant: deps.tokens.sealGrant(tenantId, { pages: granted, grantedByUserId: me.id }),
  };
}

export interface PageChoice {
  pageId: string;
  messenger: boolean;
  instagram: boolean;
}

export interface PageOutcome {
  pageId: string;
  name: string;
  connected: Array<{ channel: 'messenger' | 'instagram'; connectionId: string; inboxId: number; inboxName: string; created: boolean }>;
  /** Plain words, when this Page (or its Instagram account) could not be connected. */
  error?: string;
}

export async function connectPages(deps: PageConnectDeps, inst: ChatwootInstallation, grant: string, choices: PageChoice[]): Promise<PageOutcome[]> {
  const opened = deps.tokens.openGrant(grant, inst.tenantId);
  if (!opened) {
    throw new OnboardingError('grant_expired', 'The list of Pages is too old (it lasts ten minutes) or was not made for this link. Click "Connect Pages" again.', 'invalid_request');
  }
  const { pages: granted, grantedByUserId } = opened;
  const outcomes: PageOutcome[] = [];
  for (const choice of choices) {
    const page = granted.find((p) => p.id === choice.pageId);
    if (!page) {
      outcomes.push({ pageId: choice.pageId, name: choice.pageId, connected: [], error: 'This Page was not in the list Facebook gave; log in again and select it.' });
      continue;
    }
    const outcome: PageOutcome = { pageId: page.id, name: page.name, connected: [] };
    try {
      await deps.graph.post(`${page.id}/subscribed_apps`, page.token, { subscribed_fields: PAGE_FIELDS.join(',') })
        .catch((err: unknown) => { throw fromGraph(`subscribing the Page "${page.name}" to this bridge's webhooks`, err); });
      if (choice.messenger) {
        outcome.connected.push(summary('messenger', await deps.installer.place(inst, {
          tenantId: inst.tenantId, channel: 'messenger', businessId: page.id, metaToken: page.token, grantedByUserId, name: `Messenger ${page.name}`,
        })));
      }
      if (choice.instagram) {
        const linked = await deps.graph.get<{ instagram_business_account?: { id?: string } }>(page.id, page.token, { fields: 'instagram_business_account' })
          .catch((err: unknown) => { throw fromGraph(`reading the Instagram account of the Page "${page.name}"`, err); });
        const igId = linked.instagram_business_account?.id;
        if (!igId) throw new OnboardingError('no_instagram', `The Page "${page.name}" has no Instagram professional account linked. Link one in the Page's settings, then connect again.`, 'invalid_request');
        const username = page.instagram?.id === igId ? page.instagram.username : undefined;
        outcome.connected.push(summary('instagram', await deps.installer.place(inst, {
          tenantId: inst.tenantId, channel: 'instagram', businessId: igId, pageId: page.id, metaToken: page.token, grantedByUserId, options: { tokenKind: 'page' },
          name: `Instagram ${username ? `@${username}` : page.name}`,
        })));
      }
    } catch (err) {
      if (!(err instanceof OnboardingError)) throw err;
      outcome.error = err.message;
    }
    outcomes.push(outcome);
  }
  return outcomes;
}

function summary(channel: 'messenger' | 'instagram', placed: PlacedConnection): PageOutcome['connected'][number] {
  return { channel, connectionId: placed.connection.id, inboxId: placed.inbox.inboxId, inboxName: placed.inbox.name, created: placed.createdConnection };
}
