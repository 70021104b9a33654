/**
 * Meta's compliance callbacks (App Dashboard → Settings → Data Deletion Request callback URL, and Facebook Login →
 * Deauthorize callback URL), both POSTed form-encoded with one field, `signed_request`:
 *   POST /meta/data-deletion       → { url, confirmation_code }; the URL is the status page below
 *   GET  /meta/data-deletion/:code → where the request stands (HTML for people, JSON on Accept: application/json),
 *                                    naming no one
 *   POST /meta/deauthorize         → 200
 * A signed_request that does not verify gets 400 and nothing happens. What each callback does: src/core/granting-user.ts.
 */
import express, { Router } from 'express';
import { HttpError } from './errors';
import { parseSignedRequest, SignedRequestError, type SignedRequest } from '../channels/meta/signed-request';
import type { DeletionRequest, DeletionRequestRepository } from '../store/deletion-requests';
import type { GrantingUserPrivacy } from '../core/granting-user';
import type { Metrics } from '../metrics';
import type { Logger } from '../log/logger';

export const DATA_DELETION_PATH = '/meta/data-deletion';
export const DEAUTHORIZE_PATH = '/meta/deauthorize';

export interface MetaPrivacyDeps {
  appSecret: string;
  publicUrl: string;
  granting: GrantingUserPrivacy;
  deletionRequests: DeletionRequestRepository;
  isShuttingDown(): boolean;
  metrics: Metrics;
  log: Logger;
}

export function deletionStatusUrl(publicUrl: string, code: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${DATA_DELETION_PATH}/${code}`;
}

const STATE_TEXT: Record<DeletionRequest['state'], string> = {
  in_progress: 'In progress',
  completed: 'Completed',
  failed: 'Failed — the deletion could not finish; Meta will send the request again, or contact the operator of this service',
};

/** Every value placed in the page is a code, a date or a count; escaped all the same. */
function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function statusPage(req: DeletionRequest): string {
  const done = req.outcome
    ? `<p>Deleted: the access tokens this Facebook account granted for ${req.outcome.connectionsDisconnected} connected account(s) `
      + `(those connections are now disconnected), and this Facebook account's id wherever it was kept (${req.outcome.grantsForgotten} place(s)).</p>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>Data deletion request ${escape(req.code)}</title></head>
<body>
<h1>Data deletion request</h1>
<p>Confirmation code: <code>${escape(req.code)}</code></p>
<p>Status: <strong>${escape(STATE_TEXT[req.state])}</strong>. Received ${escape(req.receivedAt.toISOString())}${req.completedAt ? `, finished ${escape(req.completedAt.toISOString())}` : ''}.</p>
${done}
<h2>What this service held about you</h2>
<p>This service connects businesses' WhatsApp, Messenger and Instagram accounts to their customer-service software.
About a Facebook account that logged in to it, it keeps only the access tokens that account granted when it connected a
business's Pages or WhatsApp accounts, and that account's id beside them. Both are deleted by this request.</p>
<p>Messages you exchanged with a business as its customer pass through this service only in transit and are kept by that
business, in its own customer-service software. To have those deleted, ask the business: it can erase you here and there.</p>
</body></html>
`;
}

export function metaPrivacyRouter(deps: MetaPrivacyDeps): Router {
  const router = Router();
  const count = (source: string, outcome: string) => deps.metrics.webhooks.inc({ source, outcome });
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });

  /** The verified request, or 400 with nothing done. */
  const verified = (source: string, body: unknown): SignedRequest => {
    try {
      return parseSignedRequest((body as Record<string, unknown> | undefined)?.signed_request, deps.appSecret);
    } catch (err) {
      if (!(err instanceof SignedRequestError)) throw err;
      count(source, 'bad_signature');
      deps.log.warn('Meta callback refused: signed_request did not verify', { source, reason: err.message });
      throw new HttpError('invalid_request', `signed_request refused: ${err.message}`);
    }
  };

  router.post(DATA_DELETION_PATH, form, async (req, res) => {
    if (deps.isShuttingDown()) throw new HttpError('shutting_down', 'shutting down; send again later');
    const request = verified('meta_data_deletion', req.body);
    const code = await deps.granting.requestDeletion(request);
    count('meta_data_deletion', 'accepted');
    deps.log.info('data deletion request handled', { confirmationCode: code });
    res.json({ url: deletionStatusUrl(deps.publicUrl, code), confirmation_code: code });
  });

  router.get(`${DATA_DELETION_PATH}/:code`, async (req, res) => {
    const found = await deps.deletionRequests.find(String(req.params.code));
    if (!found) throw new HttpError('not_found', 'no deletion request has this confirmation code (status pages expire)');
    res.set('Cache-Control', 'no-store');
    res.format({
      'text/html': () => res.type('html').send(statusPage(found)),
      'application/json': () => res.json({
        confirmation_code: found.code,
        status: found.state,
        received_at: found.receivedAt.toISOString(),
        completed_at: found.completedAt?.toISOString(),
        deleted: found.outcome,
      }),
    });
  });

  router.post(DEAUTHORIZE_PATH, form, async (req, res) => {
    if (deps.isShuttingDown()) throw new HttpError('shutting_down', 'shutting down; send again later');
    const request = verified('meta_deauthorize', req.body);
    const disconnected = await deps.granting.deauthorize(request);
    count('meta_deauthorize', 'accepted');
    deps.log.info('deauthorization handled', { connectionsDisconnected: disconnected });
    res.json({ received: true });
  });
  return router;
}
