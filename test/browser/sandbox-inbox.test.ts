/**
 * The sandbox of `npm run dev`, in real headless Chromium: the dev entry runs as its own process (on the test
 * Redis and MongoDB-wire server), a simulated customer message appears in the agent inbox, the agent's reply
 * reaches the Graph fake, and the read receipt comes back as "read" on the agent's message.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { requireServices } from '../support/env';
import { freePort } from '../support/processes';
import { launchChromium } from '../support/browser';

const ROOT = path.resolve(__dirname, '..', '..');

describe('sandbox inbox page', () => {
  test('when a customer message is sent from the page and the agent replies, then the reply reaches the phone and shows read', async () => {
    const services = requireServices();
    const [port, pagePort] = [await freePort(), await freePort()];
    const dev = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'sandbox', 'dev.ts')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', REDIS_URL: services.redisUrl, MONGODB_URI: services.mongoUri, PORT: String(port), SANDBOX_PORT: String(pagePort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    dev.stdout!.on('data', (c: Buffer) => { output += c.toString(); });
    dev.stderr!.on('data', (c: Buffer) => { output += c.toString(); });
    const browser = await launchChromium();
    try {
      const pageUrl = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the sandbox did not start in 60 s: ${output}`)), 60_000);
        const check = () => {
          const m = /inbox page:\s+(\S+)/.exec(output);
          if (m) { clearTimeout(timer); resolve(m[1]!); } else if (dev.exitCode !== null) { clearTimeout(timer); reject(new Error(`the sandbox exited: ${output}`)); } else setTimeout(check, 100);
        };
        check();
      });
      assert.match(output, /simulate:\s+npm run simulate -- --text "hello"/, 'the dev command prints a simulate one-liner');
      const page = await browser.newPage();
      await page.goto(pageUrl);
      await page.fill('#customer-text', 'Hi, is my order on its way?');
      await page.click('#customer-send');
      await page.locator('[data-testid="customer-line"]', { hasText: 'Hi, is my order on its way?' }).waitFor({ timeout: 20_000 });

      await page.fill('#agent-text', 'Yes, it ships today.');
      await page.click('#agent-send');
      const phoneLine = page.locator('[data-testid="phone-line"]', { hasText: 'Yes, it ships today.' });
      await phoneLine.waitFor({ timeout: 20_000 });
      const agentLine = page.locator('[data-testid="agent-line"]', { hasText: 'Yes, it ships today.' });
      await agentLine.locator('text=✓✓ read').waitFor({ timeout: 20_000 });
      assert.match(await phoneLine.innerText(), /phone reports: read/);
      assert.equal(await page.locator('#error').innerText(), '');
    } finally {
      await browser.close();
      dev.kill('SIGTERM');
      await new Promise((r) => (dev.exitCode !== null ? r(null) : dev.once('exit', r)));
    }
  });
});
