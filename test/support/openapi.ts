/**
 * The platform contract (docs/platform-api.openapi.json) as a test oracle: every schema in it compiled with
 * Ajv's JSON Schema 2020-12 dialect (the one OpenAPI 3.1 uses), strict (unknown keywords and types refused),
 * with formats checked. `required` inside anyOf names properties declared beside it, which strictRequired would
 * refuse, so that one check is off.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

export const OPENAPI_FILE = path.resolve(__dirname, '../../docs/platform-api.openapi.json');

export function loadContract(): Record<string, any> {
  return JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as Record<string, any>;
}

/** OpenAPI's `#/components/schemas/X` references, rewritten to `#/$defs/X` inside one JSON Schema document. */
function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string' ? v.replace('#/components/schemas/', '#/$defs/') : rewriteRefs(v),
    ]));
  }
  return node;
}

export interface ContractSchemas {
  names: string[];
  /** Errors (empty when valid) of `value` against components.schemas[name]. */
  check(name: string, value: unknown): string[];
}

export function contractSchemas(doc = loadContract()): ContractSchemas {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
  addFormats(ajv);
  const schemas = doc.components.schemas as Record<string, unknown>;
  ajv.addSchema({ $id: 'contract', $defs: rewriteRefs(schemas) });
  for (const name of Object.keys(schemas)) {
    if (!ajv.getSchema(`contract#/$defs/${name}`)) throw new Error(`schema ${name} did not compile`);
  }
  return {
    names: Object.keys(schemas),
    check(name, value) {
      const validate = ajv.getSchema(`contract#/$defs/${name}`)!;
      return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
    },
  };
}

/** The schema name of each event type, as the document's `webhooks` say. */
export function eventSchemaNames(doc = loadContract()): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [type, hook] of Object.entries(doc.webhooks as Record<string, any>)) {
    out[type] = String(hook.post.requestBody.content['application/json'].schema.$ref).split('/').pop()!;
  }
  return out;
}
