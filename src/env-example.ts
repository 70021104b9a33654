/**
 * `.env.example`, generated from the joi schema like the README's table, so a deployment's list of settings
 * cannot drift from what the code reads (`npm run config:table` rewrites both; test/unit/env-example.test.ts
 * fails when the file is stale). Required settings are uncommented and empty, to be filled in; optional ones
 * are commented out with their default, to be uncommented to change.
 */
import type Joi from 'joi';
import { SETTINGS } from './config';

const HEADER = [
  '# Every setting of meta-crm-bridge. Generated from src/config.ts by `npm run config:table`: do not edit here.',
  '# Copy to .env and fill in the required values; .env holds secrets, keep it out of version control.',
  '# docker-compose.yml reads .env, and sets BRIDGE_ROLE, REDIS_URL and MONGODB_URI for its own services itself.',
  '# A commented line shows the default: uncomment it to change the value.',
];

function describe(schema: Joi.Schema): { required: boolean; defaultValue?: string } {
  const described = schema.describe() as { flags?: { default?: unknown; presence?: string } };
  const value = described.flags?.default;
  return { required: described.flags?.presence === 'required', defaultValue: value === undefined ? undefined : String(value) };
}

export function envExample(): string {
  const blocks = SETTINGS.map((s) => {
    const { required, defaultValue } = describe(s.schema);
    const comment = `# ${s.description}${s.secret ? ' (secret)' : ''}${required ? ' (required)' : ''}`;
    const line = required ? `${s.env}=` : `# ${s.env}=${defaultValue ?? ''}`;
    return `${comment}\n${line}`;
  });
  return `${HEADER.join('\n')}\n\n${blocks.join('\n\n')}\n`;
}
