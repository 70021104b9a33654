/**
 * Entry point: load and validate configuration (one clear line and exit 1 when a setting is wrong), start the
 * bridge in its role, stop it cleanly on SIGTERM/SIGINT.
 */
import { loadConfig, readConfigFile, ConfigError } from './config';
import { Bridge } from './app';

async function main(): Promise<void> {
  let bridge: Bridge;
  try {
    bridge = new Bridge(loadConfig(process.env, readConfigFile()));
  } catch (err) {
    if (err instanceof ConfigError || (err as Error).name === 'KeyRingError') {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const stop = async (signal: string) => {
    bridge.log.info('signal received, shutting down', { signal });
    await bridge.stop();
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
