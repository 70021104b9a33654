/**
 * Which hosts a URL from one source may be fetched from. A rule is a host name, a `*.domain` wildcard (the
 * domain's subdomains, not the domain itself), or a whole origin (scheme, host and port, from a configured base
 * URL). A rule is `trusted` when an operator configured it (a setting, a connection's platform URL): such a host
 * may resolve to a private address (a Chatwoot on the same Docker network, a test fake on 127.0.0.1). Every
 * other host must resolve to public addresses only.
 */

export interface HostRule {
  /** Lowercase host name or IP literal (IPv6 without brackets); for a wildcard, the domain after "*.". */
  host: string;
  wildcard: boolean;
  /** Only this port (default ports made explicit) when set. */
  port?: number;
  /** Only this scheme when set. */
  scheme?: 'http' | 'https';
  trusted: boolean;
}

export interface HostPolicy {
  /** Whose hosts these are, for messages: "Meta's media hosts", "the connection's platform". */
  label: string;
  rules: readonly HostRule[];
  /**
   * A redirect to a host outside the rules: 'refuse', or 'public' (followed when that host resolves to public
   * addresses only, each hop checked again). Chatwoot's attachment URLs redirect to its storage service (S3,
   * GCS, Azure), whose host the bridge cannot know in advance.
   */
  offListRedirects: 'refuse' | 'public';
}

/** Where WhatsApp (lookaside.fbsbx.com), Messenger (*.fbcdn.net, lookaside) and Instagram (*.cdninstagram.com, lookaside.fbsbx.com/ig_messaging_cdn) serve media. */
export const META_MEDIA_DOMAINS: readonly string[] = ['fbsbx.com', 'fbcdn.net', 'cdninstagram.com'];

export function metaMediaRules(): HostRule[] {
  return META_MEDIA_DOMAINS.flatMap((domain) => [
    { host: domain, wildcard: false, scheme: 'https' as const, port: 443, trusted: false },
    { host: domain, wildcard: true, scheme: 'https' as const, port: 443, trusted: false },
  ]);
}

function bare(hostname: string): string {
  return hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
}

function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/** The origin of a configured base URL (Graph, Chatwoot, a generic platform) as a trusted rule. */
export function originRule(baseUrl: string): HostRule | undefined {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  return { host: bare(url.hostname), wildcard: false, port: portOf(url), scheme: url.protocol === 'https:' ? 'https' : 'http', trusted: true };
}

/** Form of one MEDIA_ALLOWED_HOSTS entry: `host`, `host:port`, `*.domain`, `[v6]:port`. */
export const HOST_ENTRY = /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::\d{1,5})?$|^\[[0-9a-f:.]+\](?::\d{1,5})?$/i;

/** An operator's entry (a setting): trusted; without a port it allows any port of that host. */
export function configuredRule(entry: string): HostRule | undefined {
  const text = entry.trim().toLowerCase();
  if (!HOST_ENTRY.test(text)) return undefined;
  const wildcard = text.startsWith('*.');
  const rest = wildcard ? text.slice(2) : text;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(rest);
  if (!m) return undefined;
  return { host: bare(m[1]!), wildcard, port: m[2] ? Number(m[2]) : undefined, trusted: true };
}

/** The first rule that allows this URL, if any. */
export function matchRule(url: URL, rules: readonly HostRule[]): HostRule | undefined {
  const host = bare(url.hostname);
  const scheme = url.protocol.slice(0, -1);
  const port = portOf(url);
  return rules.find((rule) => {
    if (rule.scheme && rule.scheme !== scheme) return false;
    if (rule.port !== undefined && rule.port !== port) return false;
    return rule.wildcard ? host.endsWith(`.${rule.host}`) : host === rule.host;
  });
}

/**
 * Meta's media hosts, plus the configured Graph hosts (a proxy or test fake may serve media URLs) and the
 * operator's extra hosts. Redirects must stay on these hosts: a Meta link has no business leaving Meta.
 */
export function metaMediaPolicy(opts: { graphBaseUrls?: readonly string[]; extraHosts?: readonly string[] } = {}): HostPolicy {
  return {
    label: "Meta's media hosts",
    rules: [
      ...metaMediaRules(),
      ...(opts.graphBaseUrls ?? []).map(originRule).filter((r): r is HostRule => r !== undefined),
      ...(opts.extraHosts ?? []).map(configuredRule).filter((r): r is HostRule => r !== undefined),
    ],
    offListRedirects: 'refuse',
  };
}

/**
 * Files an agent attached on the platform: the connection's own platform host (Chatwoot's base URL, the
 * generic platform's event URL), plus the operator's extra hosts; redirects (to the platform's storage) may
 * leave them for public addresses.
 */
export function platformFilePolicy(platformUrl: string, extraHosts: readonly string[] = []): HostPolicy {
  return {
    label: "the connection's platform",
    rules: [originRule(platformUrl), ...extraHosts.map(configuredRule)].filter((r): r is HostRule => r !== undefined),
    offListRedirects: 'public',
  };
}
