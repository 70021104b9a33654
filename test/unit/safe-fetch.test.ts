/**
 * Safe fetching of URLs from untrusted input (src/net/): which addresses count as internal, which hosts each
 * source may use, and safeGet against real loopback servers: a refused hop is never contacted, redirects are
 * checked hop by hop, credentials do not follow a redirect to another origin, size and time are capped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isPublicAddress } from '../../src/net/address-ranges';
import { configuredRule, matchRule, metaMediaPolicy, originRule, platformFilePolicy, type HostPolicy } from '../../src/net/host-rules';
import { safeGet, UnsafeUrlError } from '../../src/net/safe-fetch';
import { MediaDownloader, MediaDownloadError } from '../../src/channels/meta/media';
import { GraphClient } from '../../src/channels/meta/graph-client';
import { fetchPlatformFile } from '../../src/channels/meta/platform-files';
import { PermanentError } from '../../src/core/errors';
import type { ConnectionRecord } from '../../src/store/connections';

describe('isPublicAddress', () => {
  const internal = [
    '127.0.0.1', '127.1.2.3', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
    '0.0.0.0', '224.0.0.1', '255.255.255.255', '192.0.2.10', '198.18.0.1',
    '::', '::1', 'fe80::1', 'fd00:ec2::254', 'fc00::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:169.254.169.254',
    '64:ff9b::a9fe:a9fe', '2002:7f00:1::', '[::1]', '2001:db8::1',
    'localhost', 'not an address', '',
  ];
  const external = ['8.8.8.8', '157.240.22.35', '31.13.64.1', '2a03:2880:f12f:83:face:b00c:0:25de', '::ffff:8.8.8.8', '172.32.0.1', '100.128.0.1'];
  for (const a of internal) test(`${JSON.stringify(a)} is not public`, () => assert.equal(isPublicAddress(a), false));
  for (const a of external) test(`${a} is public`, () => assert.equal(isPublicAddress(a), true));
});

describe('host rules', () => {
  const meta = metaMediaPolicy({ graphBaseUrls: ['http://127.0.0.1:4567'], extraHosts: ['media.example.com', '*.cdn.example.org:8443'] });
  const allowed = (u: string, p: HostPolicy = meta) => matchRule(new URL(u), p.rules) !== undefined;

  test("Meta's media hosts are allowed over https on 443 only", () => {
    for (const u of ['https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1', 'https://scontent.xx.fbcdn.net/v/t1.jpg',
      'https://scontent-iad3-1.xx.fbcdn.net/m1/x', 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1', 'https://scontent.cdninstagram.com/v/x.jpg']) {
      assert.ok(allowed(u), u);
    }
    for (const u of ['http://lookaside.fbsbx.com/x', 'https://lookaside.fbsbx.com:8443/x', 'https://fbcdn.net.evil.example/x', 'https://evilfbcdn.net/x',
      'https://169.254.169.254/latest/meta-data', 'http://127.0.0.1:4568/x', 'https://graph.facebook.com.example/x']) {
      assert.ok(!allowed(u), u);
    }
  });

  test('a configured base URL allows its own origin (scheme, host and port), trusted', () => {
    assert.ok(allowed('http://127.0.0.1:4567/cdn/file'));
    assert.ok(!allowed('https://127.0.0.1:4567/cdn/file'));
    assert.ok(!allowed('http://127.0.0.1:4568/cdn/file'));
    assert.equal(originRule('http://127.0.0.1:4567/v26.0')?.trusted, true);
    assert.equal(originRule('ftp://x.example'), undefined);
  });

  test('operator entries: host (any port), host:port, *.domain; malformed ones are dropped', () => {
    assert.ok(allowed('https://media.example.com/a') && allowed('http://media.example.com:8080/a'));
    assert.ok(allowed('https://a.cdn.example.org:8443/x') && !allowed('https://a.cdn.example.org/x') && !allowed('https://cdn.example.org:8443/x'));
    assert.deepEqual(configuredRule('[::1]:8080'), { host: '::1', wildcard: false, port: 8080, trusted: true });
    for (const bad of ['http://x.example', 'x.example/path', '*', '*.', 'a b', 'x.example:port']) assert.equal(configuredRule(bad), undefined, bad);
  });

  test("platform files: the connection's platform origin, and off-list redirects to public hosts only", () => {
    const p = platformFilePolicy('https://chatwoot.example.com/', ['files.example.net']);
    assert.ok(allowed('https://chatwoot.example.com/rails/active_storage/blobs/redirect/x/y.pdf', p));
    assert.ok(allowed('https://files.example.net/y.pdf', p));
    assert.ok(!allowed('https://chatwoot.example.com.evil.example/y.pdf', p));
    assert.equal(p.offListRedirects, 'public');
    assert.equal(meta.offListRedirects, 'refuse');
  });
});

interface Server {
  url: string;
  hits: http.IncomingMessage[];
  close(): Promise<void>;
}

async function server(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Server> {
  const hits: http.IncomingMessage[] = [];
  const s = http.createServer((req, res) => { hits.push(req); handler(req, res); });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise<void>((resolve) => { s.closeAllConnections(); s.close(() => resolve()); }),
  };
}

describe('safeGet', () => {
  let target: Server;
  let origin: Server;
  let other: Server;
  const policyFor = (urls: string[], offListRedirects: HostPolicy['offListRedirects'] = 'refuse'): HostPolicy => ({
    label: 'the test hosts', rules: urls.map((u) => originRule(u)!), offListRedirects,
  });
  const get = (url: string, policy: HostPolicy, extra: Partial<Parameters<typeof safeGet>[1]> = {}) =>
    safeGet<ArrayBuffer>(url, { policy, responseType: 'arraybuffer', maxBytes: 1024, timeoutMs: 2000, maxRedirects: 3, ...extra });

  before(async () => {
    // The internal service an attacker would like the bridge to call.
    target = await server((_req, res) => res.end('internal secrets'));
    other = await server((req, res) => res.end(`auth=${req.headers.authorization ?? 'none'}`));
    origin = await server((req, res) => {
      const to = new URL(req.url!, 'http://x').searchParams.get('to');
      if (req.url!.startsWith('/redirect')) { res.writeHead(302, { location: to! }); res.end(); return; }
      if (req.url === '/loop') { res.writeHead(302, { location: '/loop' }); res.end(); return; }
      if (req.url === '/big') { res.end(Buffer.alloc(4096, 1)); return; }
      if (req.url === '/slow') { res.writeHead(200); res.write('a'); return; }
      res.end(`ok auth=${req.headers.authorization ?? 'none'}`);
    });
  });
  after(async () => { await Promise.all([target.close(), origin.close(), other.close()]); });

  test('when the host is not allowed for its source, then it is refused before anything is sent', async () => {
    for (const url of [`${target.url}/`, 'http://169.254.169.254/latest/meta-data/', 'file:///etc/passwd', 'http://user:pw@127.0.0.1/', 'not a url']) {
      await assert.rejects(get(url, policyFor([origin.url])), UnsafeUrlError, url);
    }
    assert.equal(target.hits.length, 0);
  });

  test('when a redirect leads to a host outside the rules, then it is refused (refuse, and public for an internal address)', async () => {
    for (const mode of ['refuse', 'public'] as const) {
      await assert.rejects(get(`${origin.url}/redirect?to=${encodeURIComponent(`${target.url}/x`)}`, policyFor([origin.url], mode)), /reached by a redirect|internal address/);
    }
    await assert.rejects(get(`${origin.url}/redirect?to=${encodeURIComponent('http://169.254.169.254/')}`, policyFor([origin.url], 'public')), /internal address/);
    assert.equal(target.hits.length, 0);
  });

  test('when a redirect stays on an allowed host, then it is followed; credentials go only to the first origin', async () => {
    const headers = { Authorization: 'Bearer secret-token' };
    const same = await get(`${origin.url}/redirect?to=/plain`, policyFor([origin.url]), { headers });
    assert.equal(Buffer.from(same.data).toString(), 'ok auth=Bearer secret-token');
    assert.equal(same.finalUrl, `${origin.url}/plain`);
    const cross = await get(`${origin.url}/redirect?to=${encodeURIComponent(`${other.url}/x`)}`, policyFor([origin.url, other.url]), { headers });
    assert.equal(Buffer.from(cross.data).toString(), 'auth=none');
  });

  test('when a host name resolves to an internal address and is not configured, then the connection is refused', async () => {
    const port = new URL(target.url).port;
    const untrusted: HostPolicy = { label: 'the test hosts', rules: [{ host: 'localhost', wildcard: false, trusted: false }], offListRedirects: 'refuse' };
    await assert.rejects(get(`http://localhost:${port}/x`, untrusted), /localhost resolves to an internal address/);
    assert.equal(target.hits.length, 0);
  });

  test('when redirects go on and on, or the body is too big, or too slow, then it fails', async () => {
    await assert.rejects(get(`${origin.url}/loop`, policyFor([origin.url])), /more than 3 redirects/);
    await assert.rejects(get(`${origin.url}/big`, policyFor([origin.url])), /maxContentLength/);
    const started = Date.now();
    await assert.rejects(get(`${origin.url}/slow`, policyFor([origin.url]), { timeoutMs: 300 }));
    assert.ok(Date.now() - started < 2000);
  });
});

describe('media and attachment downloads use the rules', () => {
  let target: Server;
  before(async () => { target = await server((_req, res) => res.end('internal')); });
  after(async () => { await target.close(); });

  test('when a webhook link names an internal address, then MediaDownloader refuses it without a request', async () => {
    const media = new MediaDownloader(new GraphClient({ baseUrl: 'http://127.0.0.1:1', version: 'v26.0' }), { maxBytes: 1024, timeoutMs: 1000 });
    for (const url of [`${target.url}/a.jpg`, 'http://169.254.169.254/latest/meta-data/iam/', 'https://lookaside.fbsbx.com.evil.example/a.jpg']) {
      await assert.rejects(media.downloadLink({ kind: 'image', url }), (err: unknown) => err instanceof MediaDownloadError && /^not fetched: /.test(err.message), url);
      await assert.rejects(media.open({ kind: 'image', url }, '', '1'), MediaDownloadError, url);
    }
    assert.equal(target.hits.length, 0);
  });

  test("when an agent's attachment is not on the connection's platform host, then it fails permanently, with a reason", async () => {
    const conn = { platform: { kind: 'chatwoot', baseUrl: 'http://127.0.0.1:1' } } as unknown as ConnectionRecord;
    await assert.rejects(fetchPlatformFile(conn, `${target.url}/x.pdf`, { maxBytes: 1024, timeoutMs: 1000 }),
      (err: unknown) => err instanceof PermanentError && /^the attachment could not be fetched: 127\.0\.0\.1 is not one of the connection's platform/.test(err.message));
    assert.equal(target.hits.length, 0);
    const allowed = await fetchPlatformFile(conn, `${target.url}/x.pdf`, { maxBytes: 1024, timeoutMs: 1000, extraHosts: [`127.0.0.1:${new URL(target.url).port}`] });
    assert.equal(allowed.bytes.toString(), 'internal');
    assert.equal(allowed.filename, 'x.pdf');
  });
});
