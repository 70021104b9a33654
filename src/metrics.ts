/**
 * Prometheus metrics (prom-client). One registry per bridge instance so tests can run several side by side.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();

  readonly webhooks = new Counter({
    name: 'bridge_webhooks_total', help: 'Webhook deliveries received, by source and outcome',
    labelNames: ['source', 'outcome'] as const, registers: [this.registry],
  });

  readonly events = new Counter({
    name: 'bridge_events_total', help: 'Events parsed from deliveries, by channel, kind and outcome',
    labelNames: ['channel', 'kind', 'outcome'] as const, registers: [this.registry],
  });

  readonly oddities = new Counter({
    name: 'bridge_oddities_total', help: 'Parts of deliveries that were not customer events (counted, not dropped silently)',
    labelNames: ['channel'] as const, registers: [this.registry],
  });

  readonly forwardLatency = new Histogram({
    name: 'bridge_forward_latency_seconds', help: 'From webhook receipt to the platform accepting the message',
    labelNames: ['platform'] as const, buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly replyLatency = new Histogram({
    name: 'bridge_reply_latency_seconds', help: 'From the platform webhook to Meta accepting every part of the reply',
    labelNames: ['channel'] as const, buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly platformErrors = new Counter({
    name: 'bridge_platform_errors_total',
    help: 'Errors from platform APIs (Chatwoot, generic) as classified: HTTP status, or the network error when none came; retryable true|false',
    labelNames: ['platform', 'code', 'retryable'] as const, registers: [this.registry],
  });

  readonly graphErrors = new Counter({
    name: 'bridge_graph_errors_total',
    help: "Errors from Meta's Graph API as classified: Meta's error code, http_<status> when Meta sent none, or the network error; api facebook|instagram",
    labelNames: ['api', 'code', 'retryable'] as const, registers: [this.registry],
  });

  readonly unansweredSends = new Counter({
    name: 'bridge_unanswered_sends_total',
    help: "Retried reply parts whose earlier send got no answer: found_sent (Meta's status named it; recorded, not sent again), waiting (its status may still come), resent (no status within QUEUE_UNCONFIRMED_SEND_WAIT_MS)",
    labelNames: ['outcome'] as const, registers: [this.registry],
  });

  readonly deadLetters = new Counter({
    name: 'bridge_dead_letters_total', help: 'Events given up on after retries or a permanent error',
    labelNames: ['direction'] as const, registers: [this.registry],
  });

  readonly deadLettersResolved = new Counter({
    name: 'bridge_dead_letters_resolved_total', help: 'Dead letters an admin replayed or discarded (expired ones are not counted)',
    labelNames: ['direction', 'action'] as const, registers: [this.registry],
  });

  readonly tokenChecks = new Counter({
    name: 'bridge_token_checks_total',
    help: "Meta token checks by outcome: ok, renewed, expiring, needs_reauth, check_failed (Meta could not be asked; nothing changed); trigger job|admin",
    labelNames: ['outcome', 'trigger'] as const, registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
