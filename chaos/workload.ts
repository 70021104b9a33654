/**
 * The chaos run's workload, fixed by a seed: customers (phone numbers), the marker every message text carries
 * (what the at-rest and log scans look for), and which customer message prompts which agent reply.
 */
import { randomBytes } from 'node:crypto';

/** mulberry32: a small seeded PRNG, so the faults' draws and the workload repeat from run to run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A text no code, id or key would contain by chance; fresh per run so an old run's leftovers never match. */
export function newMarker(): string {
  return `chaosmark${randomBytes(6).toString('hex')}`;
}

/** E.164 digits (German mobile range) of customer i: full numbers must never show in logs. */
export function customerPhone(i: number): string {
  return `4917${String(90_000_000 + i).padStart(9, '0')}`;
}

export function customerText(marker: string, customer: number, seq: number): string {
  return `${marker} customer ${customer} message ${seq}: where is my order?`;
}

export function replyText(marker: string, key: string): string {
  return `${marker} ${key} thanks, it ships today`;
}

/** The reply key a Graph send carries in its text, or undefined. */
export function replyKeyIn(text: string, marker: string): string | undefined {
  if (!text.includes(marker)) return undefined;
  return /\b(c\d+r\d+)\b/.exec(text)?.[1];
}

export function replyKey(customer: number, n: number): string {
  return `c${customer}r${n}`;
}

/**
 * After which of a customer's messages (0-based) each of its replies is written. Never after message 0: seeing
 * message k at Chatwoot proves message k-1 was fully handled (one lane per customer), window record included,
 * as an agent answering a customer who has been writing for a while.
 */
export function replyTriggers(messagesPerCustomer: number, repliesPerCustomer: number): number[] {
  if (repliesPerCustomer === 0 || messagesPerCustomer < 2) return [];
  const span = messagesPerCustomer - 1;
  const triggers = new Set<number>();
  for (let j = 0; j < repliesPerCustomer; j += 1) triggers.add(1 + Math.floor((j * span) / repliesPerCustomer));
  return [...triggers].sort((a, b) => a - b);
}
