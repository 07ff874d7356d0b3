export interface RateLimitOptions {
  /** Calls a key may make at once after being idle (bucket size). Default 60. */
  burst?: number;
  /** Tokens added per second. Default 1. */
  refillPerSecond?: number;
  /** Milliseconds since some origin; tests pass a fake. Default performance.now. */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Above this many buckets, full ones (idle long enough to have refilled) are dropped on the next take. */
const SWEEP_ABOVE = 10_000;

/**
 * Token buckets per member key, in this process's memory (spec §4: burst 60, about 1/s refill). Each
 * server instance keeps its own buckets, so N instances behind a balancer allow up to N times the rate.
 */
export class RateLimiter {
  readonly burst: number;
  readonly refillPerSecond: number;
  private readonly now: () => number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(options: RateLimitOptions = {}) {
    this.burst = options.burst ?? 60;
    this.refillPerSecond = options.refillPerSecond ?? 1;
    if (!(this.burst >= 1) || !(this.refillPerSecond > 0)) throw new Error('rate limit: burst must be ≥ 1 and refillPerSecond > 0');
    this.now = options.now ?? (() => performance.now());
  }

  /** Takes one token. When none is left: how many whole seconds until one is (the Retry-After value). */
  take(key: string): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= SWEEP_ABOVE) this.sweep(now);
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.refillPerSecond);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.refillPerSecond)) };
  }

  /** Number of keys with a bucket in memory (tests, metrics). */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    const fullAfterMs = (this.burst / this.refillPerSecond) * 1000;
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.at >= fullAfterMs) this.buckets.delete(key);
    }
  }
}
