/**
 * Onboarding failures (src/onboarding/errors.ts) as HTTP errors: the plain words become the error message the
 * page or the CLI shows, the stable reason goes into `details`, and the upstream's technical reason is logged
 * (masked like every line), never sent.
 */
import { HttpError } from './errors';
import { OnboardingError } from '../onboarding/errors';
import type { Logger } from '../log/logger';

export function httpErrorOf(err: unknown, log: Logger, context: Record<string, unknown>): unknown {
  if (!(err instanceof OnboardingError)) return err;
  log.warn('onboarding step failed', { ...context, reason: err.reason, technical: err.technical });
  return new HttpError(err.httpCode, err.message, { reason: err.reason });
}
