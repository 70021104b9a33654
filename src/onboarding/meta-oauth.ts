/**
 * The two token exchanges onboarding needs, on Graph's /oauth/access_token (version from configuration, like
 * every Graph URL):
 *  - a login code (Embedded Signup or Facebook Login for Business, JS SDK with response_type 'code') → a token:
 *    for Embedded Signup the business integration system user token, for Login a user token. The JS SDK flow
 *    sends no redirect_uri, so none is passed (meta-api-notes §6.1; UNCONFIRMED, some implementations pass one).
 *    Codes live about 30 seconds, so the page posts them at once and this runs first.
 *  - a short-lived user token → a long-lived one (~60 days), so the Page tokens read with it do not expire.
 * The app secret travels in the query string to Meta only; errors carry Meta's message, never the URL.
 *
 * The second is the token lifecycle's own exchange (src/tokens), so both use one implementation; the code
 * exchange is onboarding's alone.
 */
import type { GraphClient } from '../channels/meta/graph-client';
import { exchangeForLongLived } from '../tokens/token-inspector';

export interface MetaApp {
  id: string;
  secret: string;
}

interface TokenResponse {
  access_token?: string;
  token_type?: string;
  expires_in?: number;
}

export class MetaOAuth {
  constructor(private readonly graph: GraphClient, private readonly app: MetaApp) {}

  private async exchange(params: Record<string, string>): Promise<{ accessToken: string; expiresInS?: number }> {
    const data = await this.graph.call<TokenResponse>(() => this.graph.http.get<TokenResponse>(this.graph.path('oauth/access_token'), {
      params: { client_id: this.app.id, client_secret: this.app.secret, ...params },
    }));
    if (typeof data.access_token !== 'string' || data.access_token.length === 0) {
      throw new Error('Graph answered the token exchange without an access_token');
    }
    return { accessToken: data.access_token, expiresInS: typeof data.expires_in === 'number' ? data.expires_in : undefined };
  }

  exchangeCode(code: string): Promise<{ accessToken: string; expiresInS?: number }> {
    return this.exchange({ code });
  }

  async longLivedUserToken(userToken: string): Promise<{ accessToken: string }> {
    return { accessToken: (await exchangeForLongLived(this.graph, this.app, userToken)).accessToken };
  }
}
