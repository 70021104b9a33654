/**
 * The README's "Troubleshooting by Meta error code" tables, generated from the same catalogues that word the
 * reasons agents read on failed messages, so the document and the behaviour cannot drift
 * (`npm run config:table` rewrites them; test/unit/readme-troubleshooting.test.ts fails when they are stale).
 */
import { whatsappErrorCatalogue } from '../channels/whatsapp/error-reasons';
import { sendApiErrorCatalogue } from '../channels/meta/send-api-errors';

interface Row { code: string; title: string; advice: string; retryable?: boolean; reauth?: boolean }

function behaviour(r: Row): string {
  if (r.reauth) return 'connection → `needs_reauth`; sends fail until reconnected, inbound keeps flowing';
  if (r.retryable) return 'retried with backoff (Retry-After honoured)';
  return 'not retried; the agent sees the reason';
}

function table(rows: Row[]): string {
  const escape = (text: string) => text.replace(/\|/g, '\\|');
  return ['| code | meaning | what to do | what the bridge does |', '|---|---|---|---|',
    ...rows.map((r) => `| ${r.code} | ${escape(r.title)} | ${escape(r.advice)} | ${behaviour(r)} |`)].join('\n');
}

export function troubleshootingTables(): string {
  return [
    '**WhatsApp Cloud API** (shown on the failed message in the inbox as "code: meaning — what to do"):', '',
    table(whatsappErrorCatalogue()), '',
    '**Messenger and Instagram Send API** (`code/subcode` where the subcode changes the meaning):', '',
    table(sendApiErrorCatalogue()),
  ].join('\n');
}

export const TROUBLESHOOTING_START = '<!-- troubleshooting:start (generated from the error catalogues by `npm run config:table`) -->';
export const TROUBLESHOOTING_END = '<!-- troubleshooting:end -->';

export function withTroubleshootingTables(readme: string): string {
  const start = readme.indexOf(TROUBLESHOOTING_START);
  const end = readme.indexOf(TROUBLESHOOTING_END);
  if (start < 0 || end < start) throw new Error('README.md lacks the troubleshooting markers');
  return `${readme.slice(0, start + TROUBLESHOOTING_START.length)}\n${troubleshootingTables()}\n${readme.slice(end)}`;
}
