/**
 * Entry point: load and validate configuration (one clear line and exit 1 when a setting is wrong), start the
 * bridge in its role, stop it cleanly on SIGTERM/SIGINT.
 */
import { loadConfig, readConfigFile, ConfigError } from './config';
import { Bridge } from './app';

/** Beyond the drain time: closing the server, queue and stores. */
const SHUTDOWN_CLOSE_GRACE_MS = 10_000;

async function main(): Promise<void> {
  let bridge: Bridge;
  try {
    bridge = new Bridge(loadConfig(process.env, readConfigFile()));
  } catch (err) {
    if (err instanceof ConfigError || (err as Error).name === 'InvalidFernetKey') {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const stop = async (signal: string) => {
    const { drainMs } = bridge.config.shutdown;
    bridge.log.info('signal received, shutting down', { signal, drainMs });
    // stop() is bounded by the drain time plus closing; a store that never answers must not keep the process
    // alive past what an orchestrator waits, and that is no clean stop: exit 1.
    setTimeout(() => {
      bridge.log.error('shutdown did not finish in time; exiting', { drainMs });
      process.exit(1);
    }, drainMs + SHUTDOWN_CLOSE_GRACE_MS).unref();
    try {
      await bridge.stop();
    } catch (err) {
      bridge.log.error('shutdown failed', { reason: (err as Error).message });
      process.exit(1);
    }
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  await bridge.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`bridge failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
