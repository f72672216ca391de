import safeRegex from 'safe-regex2';

export const MAX_REGEX_LENGTH = 256;

/**
 * Compiles a user regex, always anchored (`^(?:…)$`): an unanchored pattern is
 * the classic "allowed prefix matched anywhere" bug. Long patterns and
 * patterns with catastrophic backtracking (star height > 1) are refused.
 */
export function compileAnchoredRegex(source: string): RegExp {
  if (source.length > MAX_REGEX_LENGTH) throw new Error(`regex longer than ${MAX_REGEX_LENGTH} characters`);
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${source})$`, 'u');
  } catch (err) {
    throw new Error(`invalid regex: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!safeRegex(re)) throw new Error('regex may backtrack catastrophically (nested quantifiers); simplify it');
  return re;
}
