/**
 * Layout of the backend keys: values, indexes and rate-limit counters live in
 * separate sub-namespaces, so a caller's key can never collide with an index of
 * the same name (which in Redis would be a WRONGTYPE error, in memory silent).
 */
export interface KeyLayout {
  value(key: string): string;
  index(index: string): string;
  rateLimit(name: string): string;
}

export function keyLayout(prefix: string): KeyLayout {
  return {
    value: (key) => `${prefix}v:${key}`,
    index: (index) => `${prefix}i:${index}`,
    rateLimit: (name) => `${prefix}rl:${name}`,
  };
}
