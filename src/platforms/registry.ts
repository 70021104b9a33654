/**
 * The explicit list of platform adapters, checked at start-up: two adapters claiming one kind, or a kind of
 * connection no adapter serves, stop the bridge before it takes any traffic.
 */
import { PLATFORM_KINDS, type ConnectionRecord, type PlatformKind } from '../store/connections';
import type { Platform } from './platform';

/** Any one adapter: `Platform<'chatwoot'> | Platform<'generic'>`. */
export type AnyPlatform = { [K in PlatformKind]: Platform<K> }[PlatformKind];

export class PlatformRegistry {
  private readonly byKind = new Map<PlatformKind, AnyPlatform>();

  constructor(platforms: readonly AnyPlatform[], expected: readonly PlatformKind[] = PLATFORM_KINDS) {
    for (const platform of platforms) {
      if (this.byKind.has(platform.kind)) throw new Error(`platform kind "${platform.kind}" claimed by two adapters`);
      this.byKind.set(platform.kind, platform);
    }
    const missing = expected.filter((kind) => !this.byKind.has(kind));
    if (missing.length > 0) throw new Error(`no platform adapter registered for ${missing.join(', ')}`);
  }

  forKind<K extends PlatformKind>(kind: K): Platform<K> {
    const platform = this.byKind.get(kind);
    if (!platform) throw new Error(`no platform adapter registered for ${kind}`);
    return platform as unknown as Platform<K>;
  }

  /**
   * The adapter for this connection's kind. Typed as the widest Platform: the adapter only ever receives
   * connections of its own kind, because this lookup is by that kind.
   */
  forConnection(conn: ConnectionRecord): Platform {
    return this.forKind(conn.platform.kind) as unknown as Platform;
  }
}
