/**
 * Globs, compiled once to anchored regular expressions.
 *
 *   `*`    any run of characters except "/" (possibly empty)
 *   `**`   any run of characters including "/" (possibly empty)
 *   `**\/` at the start of a segment: zero or more whole segments, so
 *          `a/**\/b` matches `a/b` and `a/x/y/b`
 *
 * Every other character is literal: regex metacharacters (".", "+", "?", "[", …)
 * are escaped, so `https://*.example.com` cannot match `https://evilXexample.com`.
 */

const META_RE = /[\\^$.*+?()[\]{}|]/g;

export function escapeRegex(literal: string): string {
  return literal.replace(META_RE, '\\$&');
}

/** `startsSegment` is false when the glob continues text that came before it (a template value). */
export function globToRegexSource(glob: string, startsSegment = true): string {
  let out = '';
  let literal = '';
  const flush = (): void => {
    out += escapeRegex(literal);
    literal = '';
  };
  for (let i = 0; i < glob.length; ) {
    if (glob.startsWith('**/', i) && (i === 0 ? startsSegment : glob[i - 1] === '/')) {
      flush();
      out += '(?:[^]*/)?';
      i += 3;
    } else if (glob.startsWith('**', i)) {
      flush();
      out += '[^]*';
      i += 2;
      while (glob[i] === '*') i++; // "***" is "**"
    } else if (glob[i] === '*') {
      flush();
      out += '[^/]*';
      i++;
    } else {
      literal += glob[i];
      i++;
    }
  }
  flush();
  return out;
}

export function compileGlob(glob: string): RegExp {
  return new RegExp(`^(?:${globToRegexSource(glob)})$`);
}

export function hasGlob(pattern: string): boolean {
  return pattern.includes('*');
}
