/**
 * PRIVACY.md's table, generated from the inventory (inventory.ts) and the retention settings' joi schemas, so a
 * changed default or maximum shows up in the document (`npm run privacy:table` rewrites it;
 * test/unit/privacy-doc.test.ts fails when it is stale).
 */
import type Joi from 'joi';
import { SETTINGS } from '../config';
import { STORED_DATA, type Retention, type StoredData } from './inventory';

interface SettingBounds {
  default?: number;
  max?: number;
}

type SettingsList = ReadonlyArray<{ env: string; schema: Joi.Schema }>;

export function boundsOf(env: string, settings: SettingsList = SETTINGS): SettingBounds {
  const setting = settings.find((s) => s.env === env);
  if (!setting) throw new Error(`PRIVACY inventory names ${env}, which is not a setting in src/config.ts`);
  const d = setting.schema.describe() as { flags?: { default?: unknown }; rules?: Array<{ name: string; args?: { limit?: unknown } }> };
  const max = d.rules?.find((r) => r.name === 'max')?.args?.limit;
  return {
    default: typeof d.flags?.default === 'number' ? d.flags.default : undefined,
    max: typeof max === 'number' ? max : undefined,
  };
}

function unitOf(env: string): string {
  if (env.endsWith('_DAYS')) return 'days';
  if (env.endsWith('_S')) return 'seconds';
  if (env.endsWith('_MS')) return 'ms';
  return '';
}

function retentionText(r: Retention, settings: SettingsList): string {
  if ('fixed' in r) return r.fixed;
  if ('until' in r) return `until ${r.until}`;
  const { default: def, max } = boundsOf(r.setting, settings);
  const unit = unitOf(r.setting);
  const head = `\`${r.setting}\`: ${def ?? '?'} ${unit}`.trim();
  return `${head}${r.after ? ` ${r.after}` : ''}${max !== undefined ? `, at most ${max}` : ''}`;
}

function row(d: StoredData, settings: SettingsList): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  return `| ${d.store} | ${d.name.startsWith('`') ? d.name : `\`${d.name}\``} | ${cell(d.holds)} | ${cell(d.people)} | ${cell(retentionText(d.retention, settings))} | ${cell(d.deletedBy)} |`;
}

export function privacyTable(settings: SettingsList = SETTINGS, data: readonly StoredData[] = STORED_DATA): string {
  return [
    '| store | what | holds | about people | kept for (default, bound) | deleted by |',
    '|---|---|---|---|---|---|',
    ...data.map((d) => row(d, settings)),
  ].join('\n');
}

export const PRIVACY_TABLE_START = '<!-- privacy-table:start (generated from src/privacy/inventory.ts and src/config.ts by `npm run privacy:table`) -->';
export const PRIVACY_TABLE_END = '<!-- privacy-table:end -->';

export function withPrivacyTable(doc: string, settings: SettingsList = SETTINGS): string {
  const start = doc.indexOf(PRIVACY_TABLE_START);
  const end = doc.indexOf(PRIVACY_TABLE_END);
  if (start < 0 || end < start) throw new Error('PRIVACY.md lacks the privacy-table markers');
  return `${doc.slice(0, start + PRIVACY_TABLE_START.length)}\n${privacyTable(settings)}\n${doc.slice(end)}`;
}
