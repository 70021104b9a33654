import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, ConfigError, SETTINGS } from '../../src/config';

const KEY = 'cw_0gkCc2kiMNBBpS8G4CdY0lpWvsq4gRe_2AHmKNo0=';
const valid = {
  META_APP_SECRET: 'app-secret-123',
  META_VERIFY_TOKEN: 'verify-token-123',
  REDIS_URL: 'redis://127.0.0.1:6379',
  MONGODB_URI: 'mongodb://127.0.0.1:27017/bridge',
  ADMIN_API_KEY: 'admin-key-0123456789abcdefgh',
  ENCRYPTION_KEYS: KEY,
};

describe('configuration', () => {
  test('when every required setting is present, then defaults fill the rest and the result is frozen', () => {
    const config = loadConfig(valid);
    assert.equal(config.port, 3000);
    assert.match(config.meta.graphApiVersion, /^v2[5-9]\.0$/);
    assert.deepEqual(config.encryptionKeys, [KEY]);
    assert.equal(config.retention.deliveryRecordDays, 7);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.meta));
  });

  test('when a required setting is missing, then one line names its variable', () => {
    const { META_APP_SECRET: _omit, ...rest } = valid;
    assert.throws(() => loadConfig(rest), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^Configuration error: META_APP_SECRET is required/);
      assert.equal(err.message.split('\n').length, 1);
      return true;
    });
  });

  test('when a value is malformed, then the message names the variable and never echoes a secret', () => {
    assert.throws(() => loadConfig({ ...valid, PORT: 'eighty' }), /PORT must be a number \(got "eighty"\)/);
    assert.throws(() => loadConfig({ ...valid, ENCRYPTION_KEYS: 'not-a-key' }), (err: Error) => {
      assert.match(err.message, /^Configuration error: ENCRYPTION_KEYS/);
      assert.doesNotMatch(err.message, /not-a-key/);
      return true;
    });
    assert.throws(() => loadConfig({ ...valid, META_GRAPH_API_VERSION: '25' }), /META_GRAPH_API_VERSION/);
    assert.throws(() => loadConfig({ ...valid, RETENTION_DELIVERY_RECORD_DAYS: '365' }), /RETENTION_DELIVERY_RECORD_DAYS must be less than or equal to 90/);
  });

  test('when config/default.json gives a value, then the environment still wins', () => {
    assert.equal(loadConfig(valid, { port: 4000 }).port, 4000);
    assert.equal(loadConfig({ ...valid, PORT: '5000' }, { port: 4000 }).port, 5000);
  });

  test('every setting has a variable and a description', () => {
    const names = SETTINGS.map((s) => s.env);
    assert.equal(new Set(names).size, names.length);
    for (const s of SETTINGS) assert.ok(s.description.length > 10, s.env);
  });
});
