import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { withConfigTable } from '../src/config-table';
import { withTroubleshootingTables } from '../src/docs/troubleshooting';
import { envExample } from '../src/env-example';

// Both lists of settings come from src/config.ts: the README's table and the deployment's .env.example.
const root = path.resolve(__dirname, '..');
const readme = path.join(root, 'README.md');
writeFileSync(readme, withTroubleshootingTables(withConfigTable(readFileSync(readme, 'utf8'))));
console.log('README.md configuration and troubleshooting tables updated');
writeFileSync(path.join(root, '.env.example'), envExample());
console.log('.env.example updated');
