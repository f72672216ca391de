import { RE2JS } from 're2js';

export const MAX_REGEX_LENGTH = 256;

/** A compiled regular expression that runs in time linear in its input. */
export interface LinearRegex {
  readonly source: string;
  /** True when the whole text matches (the pattern is anchored at both ends). */
  matchesWhole(text: string): boolean;
  /** True when some part of the text matches (CEL's `matches()`). */
  matchesPart(text: string): boolean;
}

/**
 * Compiles a user regex on RE2 (the `re2js` port): automata, no
 * backtracking, so no pattern and input can make a match take more than linear
 * time. The syntax is RE2's: no look-around, no back-references (refused here
 * rather than silently different). Conditions always match the whole value:
 * an unanchored pattern is the classic "allowed prefix matched anywhere" bug.
 */
export function compileLinearRegex(source: string): LinearRegex {
  if (source.length > MAX_REGEX_LENGTH) throw new Error(`regex longer than ${MAX_REGEX_LENGTH} characters`);
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (err) {
    throw new Error(`invalid regex (RE2 syntax): ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    source,
    matchesWhole: (text) => re.testExact(text),
    matchesPart: (text) => re.test(text),
  };
}
