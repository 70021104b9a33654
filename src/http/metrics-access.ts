/**
 * Who may read /metrics. The series name connections and show traffic volumes, so they are not public:
 *   - METRICS_ALLOW_FROM set: the TCP peer must be inside one of its CIDRs (X-Forwarded-For is not trusted:
 *     it is whatever the client wrote);
 *   - METRICS_TOKEN set: the request must carry `Authorization: Bearer <token>`;
 *   - both set: both must hold (each is a restriction the operator asked for);
 *   - neither set: only loopback peers (127.0.0.0/8, ::1), so a scrape from inside the host or pod works out of
 *     the box and nothing is exposed by forgetting a setting.
 */
import { BlockList, isIP } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';

export interface MetricsAccessSettings {
  token?: string;
  allowFrom?: readonly string[];
}

export type AccessVerdict = 'allowed' | 'unauthorized' | 'forbidden';

const LOOPBACK = ['127.0.0.0/8', '::1/128'];

/** Builds a BlockList (used here as an allow list) from CIDRs or single addresses; throws on anything else. */
export function addressList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of cidrs) {
    const [address = '', prefix] = entry.trim().split('/');
    const family = isIP(address);
    if (family === 0) throw new Error(`not an IP address or CIDR: ${entry}`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
    if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) throw new Error(`bad prefix length in ${entry}`);
    list.addSubnet(address, bits, type);
  }
  return list;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export function metricsAccess(settings: MetricsAccessSettings): (peer: string | undefined, authorization: string | undefined) => AccessVerdict {
  const restricted = Boolean(settings.token) || (settings.allowFrom?.length ?? 0) > 0;
  const allowed = addressList(restricted ? settings.allowFrom ?? [] : LOOPBACK);
  const checksAddress = !restricted || (settings.allowFrom?.length ?? 0) > 0;
  // Compared as digests: equal length always, so timingSafeEqual never throws and length leaks nothing.
  const expected = settings.token ? digest(settings.token) : undefined;

  return (peer, authorization) => {
    if (checksAddress) {
      const family = peer ? isIP(peer) : 0;
      // BlockList matches IPv4 rules against IPv4-mapped IPv6 peers (::ffff:10.0.0.5) as well.
      if (family === 0 || !allowed.check(peer!, family === 4 ? 'ipv4' : 'ipv6')) return 'forbidden';
    }
    if (expected) {
      const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
      if (!presented || !timingSafeEqual(digest(presented), expected)) return 'unauthorized';
    }
    return 'allowed';
  };
}
