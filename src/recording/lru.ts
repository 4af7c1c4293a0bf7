/**
 * A least-recently-used cache bounded by the summed size of its values (in
 * bytes, or any unit the caller's sizes use). Reading an entry makes it the
 * most recent; adding one evicts the least recent until the total fits. A
 * value larger than the whole budget is not kept.
 */
export class SizedLru<K, V> {
  readonly maxSize: number;
  /** Map order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<K, { value: V; size: number }>();
  private total = 0;

  constructor(maxSize: number) {
    if (!(maxSize >= 0)) throw new RangeError(`SizedLru: maxSize must be 0 or more, got ${maxSize}`);
    this.maxSize = maxSize;
  }

  /** The summed size of the values held. */
  get size(): number {
    return this.total;
  }

  /** How many values are held. */
  get count(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** The value without making it the most recent. */
  peek(key: K): V | undefined {
    return this.entries.get(key)?.value;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Adds or replaces a value as the most recent, then evicts the least recent until the total fits. */
  set(key: K, value: V, size: number): void {
    if (!(size >= 0)) throw new RangeError(`SizedLru: size must be 0 or more, got ${size}`);
    this.delete(key);
    if (size > this.maxSize) return;
    this.entries.set(key, { value, size });
    this.total += size;
    for (const [oldest, entry] of this.entries) {
      if (this.total <= this.maxSize) break;
      this.entries.delete(oldest);
      this.total -= entry.size;
    }
  }

  delete(key: K): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.entries.delete(key);
    this.total -= entry.size;
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }
}
