/**
 * The README's configuration table, generated from the joi schema so the two cannot drift
 * (`npm run config:table` rewrites it; test/unit/readme-config.test.ts fails when it is stale).
 */
import type Joi from 'joi';
import { SETTINGS } from './config';

function defaultOf(schema: Joi.Schema): string {
  const described = schema.describe() as { flags?: { default?: unknown; presence?: string } };
  if (described.flags?.presence === 'required') return '*(required)*';
  const value = described.flags?.default;
  return value === undefined ? '' : `\`${String(value)}\``;
}

export function configTable(): string {
  const rows = SETTINGS.map((s) => `| \`${s.env}\` | ${defaultOf(s.schema)} | ${s.description}${s.secret ? ' (secret: never logged)' : ''} |`);
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

export const TABLE_START = '<!-- config-table:start (generated from src/config.ts by `npm run config:table`) -->';
export const TABLE_END = '<!-- config-table:end -->';

export function withConfigTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error('README.md lacks the config-table markers');
  return `${readme.slice(0, start + TABLE_START.length)}\n${configTable()}\n${readme.slice(end)}`;
}
