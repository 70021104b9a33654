/**
 * The filter endpoints' payload: [{attribute_key, filter_operator, values, query_operator}], conditions joined by
 * the previous condition's query_operator, SQL precedence (AND before OR), as Chatwoot's FilterService builds its
 * WHERE clause. Error texts for bad keys/operators are UNCONFIRMED (CustomExceptions::CustomFilter → 422 {"error"}).
 */
import { cwErrors, isObject } from './model';

type Getter<T> = (item: T) => unknown;

const OPERATORS = ['equal_to', 'not_equal_to', 'contains', 'does_not_contain', 'is_present', 'is_not_present'] as const;

function matches(value: unknown, operator: string, values: unknown[]): boolean {
  const v = value === null || value === undefined ? null : String(value).toLowerCase();
  const wanted = values.map((x) => String(x).toLowerCase());
  switch (operator) {
    case 'equal_to': return v !== null && wanted.includes(v);
    case 'not_equal_to': return v === null || !wanted.includes(v);
    case 'contains': return v !== null && wanted.some((w) => v.includes(w));
    case 'does_not_contain': return v === null || !wanted.some((w) => v.includes(w));
    case 'is_present': return v !== null && v !== '';
    default: return v === null || v === '';
  }
}

/** Text comparisons are case-insensitive (identifier equal_to is, per the notes; phone numbers have no case). */
export function applyFilter<T>(items: T[], payload: unknown, keys: Record<string, Getter<T>>): T[] {
  // A missing or non-array payload makes Chatwoot's service raise NoMethodError → 500.
  if (!Array.isArray(payload) || payload.length === 0) throw cwErrors.internal();
  const conditions = payload.map((raw) => {
    if (!isObject(raw)) throw cwErrors.internal();
    const key = String(raw.attribute_key);
    const op = String(raw.filter_operator);
    if (!keys[key]) throw cwErrors.unprocessable(`Invalid attribute key - [${key}]`);
    if (!(OPERATORS as readonly string[]).includes(op)) throw cwErrors.unprocessable(`Invalid operator. The allowed operators for ${key} are [${OPERATORS.join(',')}].`);
    const values = Array.isArray(raw.values) ? raw.values : [raw.values];
    const joiner = raw.query_operator === null || raw.query_operator === undefined ? null : String(raw.query_operator).toUpperCase();
    if (joiner !== null && joiner !== 'AND' && joiner !== 'OR') throw cwErrors.unprocessable('Invalid query operator');
    return { get: keys[key]!, op, values, joiner };
  });
  return items.filter((item) => {
    // OR of AND-groups.
    let group = true;
    let any = false;
    conditions.forEach((c, i) => {
      group = group && matches(c.get(item), c.op, c.values);
      const joiner = c.joiner ?? 'AND';
      if (joiner === 'OR' || i === conditions.length - 1) {
        any = any || group;
        group = true;
      }
    });
    return any;
  });
}
