/**
 * A copy of `list` whose storage holds exactly its elements. V8 grows an array built with
 * `push` (or spread from an iterator) to 17 slots at its first element, and a compiled policy
 * keeps tens of thousands of short arrays (claim paths, checks, grants, matchers, actions) for
 * its lifetime: packed, they take a fraction of the room.
 */
export function packed<T>(list: readonly T[]): T[] {
  return list.slice();
}
