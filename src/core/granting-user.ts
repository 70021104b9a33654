/**
 * Meta's two callbacks about a Facebook user, and what they can and cannot mean for this bridge.
 *
 * Both name an app-scoped user id: the id Meta gives a person who logged in to this app. For a business-messaging
 * bridge that is the admin who connected Pages or WhatsApp accounts through Facebook Login or Embedded Signup; the
 * bridge keeps it on those connections (`grantedByUserId`), with the token that person granted.
 *
 * Customers are a different namespace: a Messenger customer has a Page-scoped id (PSID), an Instagram customer an
 * Instagram-scoped id (IGSID), a WhatsApp customer a phone number or BSUID — and none of them logs in to the app, so
 * Meta has no app-scoped id for them and sends no callback about them. An app-scoped id can be mapped to PSIDs only
 * through Meta's ID Matching API, and only for Pages in the same Business Manager as the app; the bridge does not
 * do that. So the callbacks erase what the bridge holds about the admin; a customer's data is erased on request by
 * the business (POST /admin/erasure, the CLI's erase-user), which is who the customer asks. PRIVACY.md says so.
 *
 *   Deauthorize: the tokens that person granted are deleted and their connections disconnected (the platform side
 *   stays, so connecting again restores them). Their user id is kept, so a later deletion request still finds them.
 *   Data deletion: the same, and their user id is forgotten; the answer is a confirmation code whose status page
 *   names no one.
 *
 * WhatsApp has a signal of its own, about an account rather than a person: the account_update webhook
 * PARTNER_APP_UNINSTALLED or PARTNER_REMOVED says the business took this app off its WhatsApp Business Account
 * (meta-api-notes §7.2). Every connection of that WABA is disconnected the same way, whoever granted it.
 */
import type { ConnectionRecord, ConnectionRepository } from '../store/connections';
import type { AuditLog } from '../store/audit';
import type { DeletionOutcome, DeletionRequestRepository } from '../store/deletion-requests';
import type { SignedRequest } from '../channels/meta/signed-request';
import type { AccessRevokedEvent } from './events';

type DisconnectAction = 'meta.deauthorize' | 'meta.data_deletion' | 'meta.partner_app_uninstalled' | 'meta.partner_removed';

export interface AccessRevokedOutcome {
  /** Connections of that WABA. */
  connections: number;
  /** Of those, how many lost their token now (the rest were disconnected already: a redelivery). */
  disconnected: number;
  /** Why nothing was done, when the event was not about this app. */
  ignored?: string;
}

export interface GrantingUserDeps {
  /** This bridge's Meta app, when configured: a revocation naming another app is not about it. */
  appId?: string;
  connections: ConnectionRepository;
  deletionRequests: DeletionRequestRepository;
  audit: AuditLog;
  /** Routing caches in this process forget the connections at once (other processes within their TTL). */
  onConnectionsChanged(): void;
}

export class GrantingUserPrivacy {
  constructor(private readonly deps: GrantingUserDeps) {}

  /**
   * The person removed the app. Returns how many connections lost their token. Older Page uninstalls name the Page
   * (profile_id) instead of a person: that Page's connections are disconnected the same way.
   */
  async deauthorize(request: SignedRequest): Promise<number> {
    const { connections, audit } = this.deps;
    const concerned = request.userId ? await connections.grantedBy(request.userId) : await connections.ofPage(request.profileId!);
    const disconnected = await this.disconnect(concerned, 'meta.deauthorize');
    if (concerned.length === 0) {
      // Still worth a line: Meta called, and nothing here was granted by that person.
      await audit.record({ tenantId: null, actor: 'meta', action: 'meta.deauthorize', details: { connections: 0 } });
    }
    return disconnected;
  }

  /** The person asked Meta to have their data deleted. Returns the confirmation code for the status page. */
  async requestDeletion(request: SignedRequest): Promise<string> {
    const { connections, deletionRequests, audit } = this.deps;
    const code = await deletionRequests.open();
    try {
      const concerned = request.userId ? await connections.grantedBy(request.userId) : [];
      const outcome: DeletionOutcome = {
        connectionsDisconnected: await this.disconnect(concerned, 'meta.data_deletion'),
        grantsForgotten: request.userId ? await connections.forgetGrantingUser(request.userId) : 0,
      };
      await deletionRequests.finish(code, 'completed', outcome);
      await audit.record({ tenantId: null, actor: 'meta', action: 'meta.data_deletion', target: { type: 'deletion_request', id: code }, details: { ...outcome } });
      return code;
    } catch (err) {
      await deletionRequests.finish(code, 'failed').catch(() => undefined);
      throw err;
    }
  }

  /**
   * This app was taken off a WhatsApp Business Account: the tokens of all its connections (in whichever tenant;
   * only connections of that WABA) are deleted and the connections disconnected, like a deauthorization.
   * Idempotent, because Meta delivers again what was not acknowledged: a connection already disconnected stays
   * so and gets no second audit event. Connecting the number again (Embedded Signup) restores it.
   */
  async accessRevoked(event: AccessRevokedEvent): Promise<AccessRevokedOutcome> {
    const { appId } = this.deps;
    if (event.partnerAppId && appId && event.partnerAppId !== appId) {
      return { connections: 0, disconnected: 0, ignored: 'the event names another app' };
    }
    // A token given after Meta's event is a reconnect that came later: a redelivery of the event must not undo it.
    // entry.time has whole seconds, so a token given within the same second is not known to be later: it goes.
    const givenLater = (c: ConnectionRecord) => event.occurredAt !== undefined && c.tokenSetAt !== undefined && c.tokenSetAt.getTime() >= event.occurredAt + 1000;
    const concerned = (await this.deps.connections.ofWaba(event.wabaId)).filter((c) => !givenLater(c));
    const action = event.event === 'PARTNER_REMOVED' ? 'meta.partner_removed' : 'meta.partner_app_uninstalled';
    const disconnected = await this.disconnect(concerned, action, { onlyWhenDeleted: true });
    return { connections: concerned.length, disconnected };
  }

  /**
   * Deletes each connection's token and marks it disconnected, one audit event per connection in its tenant
   * (with onlyWhenDeleted, only for connections whose token this call deleted).
   */
  private async disconnect(concerned: ConnectionRecord[], action: DisconnectAction, opts: { onlyWhenDeleted?: boolean } = {}): Promise<number> {
    let count = 0;
    for (const conn of concerned) {
      const tokenDeleted = await this.deps.connections.disconnect(conn.id);
      if (tokenDeleted) count += 1;
      if (!tokenDeleted && opts.onlyWhenDeleted) continue;
      await this.deps.audit.record({
        tenantId: conn.tenantId, actor: 'meta', action, target: { type: 'connection', id: conn.id },
        details: { channel: conn.channel, tokenDeleted },
      });
    }
    if (concerned.length > 0) this.deps.onConnectionsChanged();
    return count;
  }
}
