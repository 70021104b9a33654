import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { withPrivacyTable } from '../src/privacy/privacy-table';

// PRIVACY.md's table of what is stored, for how long and how it goes: from src/privacy/inventory.ts and the
// retention settings in src/config.ts.
const file = path.resolve(__dirname, '..', 'PRIVACY.md');
writeFileSync(file, withPrivacyTable(readFileSync(file, 'utf8')));
console.log('PRIVACY.md table updated');
