/**
 * Where an Instagram connection sends, by the token it holds: an Instagram-Login token → graph.instagram.com,
 * POST /{ig-id}/messages; a Page token → graph.facebook.com, POST /me/messages ("me" being the linked Page, whose
 * id the connection does not need to know). Profiles: GET /{igsid} on the same host.
 */
import type { ConnectionRecord } from '../../store/connections';
import type { GraphClient } from '../meta/graph-client';
import type { SendApiTarget } from '../meta/send-api-sender';
import type { InstagramTokenKind } from './types';

export interface InstagramGraphs {
  facebook: GraphClient;
  instagram: GraphClient;
}

export function instagramTokenKind(conn: ConnectionRecord): InstagramTokenKind {
  return conn.options?.tokenKind === 'instagram_login' ? 'instagram_login' : 'page';
}

export function instagramTarget(graphs: InstagramGraphs, conn: ConnectionRecord): SendApiTarget {
  return instagramTokenKind(conn) === 'instagram_login'
    ? { graph: graphs.instagram, messagesPath: `${conn.businessId}/messages` }
    : { graph: graphs.facebook, messagesPath: 'me/messages' };
}
