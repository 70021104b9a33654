/**
 * Where a Messenger connection sends: POST /{page-id}/messages on graph.facebook.com with the Page token, and
 * GET /{psid} for profiles. The requests themselves are the shared Send API sender's.
 */
import type { ConnectionRecord } from '../../store/connections';
import type { GraphClient } from '../meta/graph-client';
import type { SendApiTarget } from '../meta/send-api-sender';

export function messengerTarget(facebook: GraphClient, conn: ConnectionRecord): SendApiTarget {
  return { graph: facebook, messagesPath: `${conn.businessId}/messages` };
}
