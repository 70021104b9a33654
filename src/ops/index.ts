/**
 * Wires the operations endpoints (http/ops.ts) to the bridge's own connections: the same MongoDB connection
 * and Redis clients the work uses, so "ready" means the work's own paths answer, not a side channel's.
 */
import type { Router } from 'express';
import type Bull from 'bull';
import type Redis from 'ioredis';
import type { Connection as MongoConnection, Model } from 'mongoose';
import type { Registry } from 'prom-client';
import { opsRouter } from '../http/ops';
import { metricsAccess, type MetricsAccessSettings } from '../http/metrics-access';
import { NotReady, Readiness, type DependencyCheck } from './readiness';
import { ScrapeGauges } from './scrape-gauges';
import { readBacklog } from '../queue/backlog';
import { connectionHealthRows, deadLetterCounts } from '../store/ops-census';
import type { Logger } from '../log/logger';

/** Under Kubernetes' default 1 s probe timeout, with room for the HTTP round trip. */
const READINESS_TIMEOUT_MS = 800;
/** Well under Prometheus' default 10 s scrape timeout, so a slow source costs its gauges, not the scrape. */
const SCRAPE_SOURCE_TIMEOUT_MS = 2500;

const MONGO_STATES = ['disconnected', 'connected', 'connecting', 'disconnecting'];

export interface OpsWiring {
  db: MongoConnection;
  laneRedis: Redis;
  drains: Bull.Queue;
  queuePrefix: string;
  connections: Model<any>;
  deadLetters: Model<any>;
  registry: Registry;
  access: MetricsAccessSettings;
  isShuttingDown(): boolean;
  log: Logger;
}

export function dependencyChecks(w: Pick<OpsWiring, 'db' | 'laneRedis' | 'drains'>): DependencyCheck[] {
  return [
    {
      name: 'mongodb',
      ping: async () => {
        if (w.db.readyState !== 1) throw new NotReady(`connection is ${MONGO_STATES[w.db.readyState] ?? 'not open'}`);
        await w.db.db!.admin().ping();
      },
    },
    {
      name: 'redis',
      ping: async () => {
        // The edge writes through both clients (lanes, then the drain job); either one down means no work lands.
        for (const client of [w.laneRedis, w.drains.client as unknown as Redis]) {
          if (client.status !== 'ready') throw new NotReady(`connection is ${client.status}`);
        }
        await w.laneRedis.ping();
      },
    },
  ];
}

export function buildOpsRouter(w: OpsWiring): Router {
  const readiness = new Readiness(dependencyChecks(w), { timeoutMs: READINESS_TIMEOUT_MS, isShuttingDown: w.isShuttingDown, log: w.log });
  // A client that is not connected would queue the reads until it is; failing at once keeps scrapes quick.
  const whenUp = <T>(up: boolean, what: string, read: () => Promise<T>): Promise<T> =>
    up ? read() : Promise.reject(new Error(`${what} is not connected`));
  const gauges = new ScrapeGauges(w.registry, {
    backlog: () => whenUp(w.laneRedis.status === 'ready', 'redis', () => readBacklog(w.drains, w.laneRedis, w.queuePrefix)),
    connectionHealth: () => whenUp(w.db.readyState === 1, 'mongodb', () => connectionHealthRows(w.connections)),
    deadLetters: () => whenUp(w.db.readyState === 1, 'mongodb', () => deadLetterCounts(w.deadLetters)),
  }, { timeoutMs: SCRAPE_SOURCE_TIMEOUT_MS, log: w.log });
  return opsRouter({ readiness, registry: w.registry, refreshGauges: () => gauges.refresh(), access: metricsAccess(w.access) });
}
