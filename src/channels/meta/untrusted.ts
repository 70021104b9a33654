/**
 * Reading untrusted webhook input, for every Meta channel. A webhook body is never cast to its documented type:
 * each level is read through `Untrusted<T>`, which keeps the documented field names (a typo does not compile) but
 * types every value as `unknown`, so each one is narrowed before use.
 */

/** Every documented key of T (of any member, for a union), each of unknown type and maybe missing. */
export type Untrusted<T> = { readonly [K in T extends unknown ? keyof T : never]?: unknown };

/** A JSON object (not null, not an array), readable by T's field names. */
export function rec<T>(value: unknown): Untrusted<T> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Untrusted<T>) : undefined;
}

/** A string, possibly empty. */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A string with something in it: ids, names. */
export function word(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

export function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The object without its undefined properties, so events compare and serialise cleanly. */
export function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
