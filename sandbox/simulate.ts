/**
 * `npm run simulate -- --text "hello"`: posts one signed WhatsApp text webhook to a running bridge, as Meta
 * would. With no flags it targets the sandbox of `npm run dev` (.cache/sandbox.json); against any other bridge
 * pass --url, --secret (its META_APP_SECRET) and --phone-number-id (a connected number).
 */
import { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { signMetaBody } from '../src/channels/meta/signature';

const STATE_FILE = path.resolve(__dirname, '..', '.cache', 'sandbox.json');

interface Target { bridgeUrl?: string; appSecret?: string; phoneNumberId?: string }

function sandboxTarget(): Target {
  return existsSync(STATE_FILE) ? (JSON.parse(readFileSync(STATE_FILE, 'utf8')) as Target) : {};
}

async function main(): Promise<void> {
  const o = new Command('simulate')
    .description('post a signed WhatsApp webhook (one text message) to a running bridge')
    .requiredOption('--text <text>', 'the message text')
    .option('--from <wa_id>', "customer's WhatsApp id (digits)", '4915123456789')
    .option('--name <name>', "customer's profile name", 'Simulated Customer')
    .option('--url <url>', 'bridge base URL (default: the running sandbox, else BRIDGE_URL)')
    .option('--secret <appSecret>', 'Meta app secret the bridge checks (default: the sandbox\'s, else META_APP_SECRET)')
    .option('--phone-number-id <id>', 'business phone_number_id (default: the sandbox number)')
    .parse(process.argv)
    .opts<{ text: string; from: string; name: string; url?: string; secret?: string; phoneNumberId?: string }>();
  const sandbox = sandboxTarget();
  const url = o.url ?? sandbox.bridgeUrl ?? process.env.BRIDGE_URL;
  const secret = o.secret ?? sandbox.appSecret ?? process.env.META_APP_SECRET;
  const phoneNumberId = o.phoneNumberId ?? sandbox.phoneNumberId;
  if (!url || !secret || !phoneNumberId) {
    throw new Error('no running sandbox found (.cache/sandbox.json): start `npm run dev`, or pass --url, --secret and --phone-number-id');
  }
  if (!/^\d{6,20}$/.test(o.from)) throw new Error('--from must be digits (a WhatsApp id such as 4915123456789)');
  const wamid = `wamid.SIM${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const raw = JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: '0', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp', metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
      contacts: [{ profile: { name: o.name }, wa_id: o.from }],
      messages: [{ from: o.from, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: o.text } }],
    } }] }],
  });
  let res: Response;
  try {
    res = await fetch(`${url.replace(/\/+$/, '')}/webhooks/meta`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(raw, secret) }, body: raw,
    });
  } catch (err) {
    throw new Error(`cannot reach the bridge at ${url} (${(err as Error).cause ?? (err as Error).message}); is it running?`);
  }
  process.stdout.write(`${res.status} ${res.status === 200 ? 'accepted' : (await res.text())} · ${wamid}\n`);
  if (res.status !== 200) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`simulate: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
