import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { withConfigTable } from '../src/config-table';

const readme = path.resolve(__dirname, '..', 'README.md');
writeFileSync(readme, withConfigTable(readFileSync(readme, 'utf8')));
console.log('README.md configuration table updated');
