/**
 * Outbound pacing per Meta sender (phone_number_id, Page): at most N sends per second across every bridge
 * process, counted in Redis in one-second windows. A send over the limit waits for the next window instead of
 * provoking Meta's throughput error (130429).
 */
import type Redis from 'ioredis';

export class Pacer {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly perSecond: number) {}

  async take(senderId: string, now = Date.now): Promise<void> {
    for (let tries = 0; tries < 50; tries++) {
      const t = now();
      const second = Math.floor(t / 1000);
      const key = `${this.prefix}:pace:${senderId}:${second}`;
      const [[, count]] = (await this.redis.multi().incr(key).expire(key, 2).exec()) as [[Error | null, number], unknown];
      if (count <= this.perSecond) return;
      await new Promise((r) => setTimeout(r, 1000 - (t % 1000) + Math.floor(Math.random() * 20)));
    }
  }
}
