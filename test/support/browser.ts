/**
 * Real headless Chromium (Debian's package) through playwright-core, which ships no browser of its own.
 * `bash test/support/chromium.sh ensure` installs it; CHROMIUM_PATH overrides the lookup.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export function chromiumPath(): string {
  const script = path.resolve(__dirname, 'chromium.sh');
  const found = execFileSync('bash', [script, 'ensure'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop();
  if (!found) throw new Error('no chromium: run `bash test/support/chromium.sh ensure`');
  return found;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}
