/**
 * Globs for repository patterns and `glob` conditions, always anchored.
 *
 *   `*`    any run of characters except "/" (possibly empty)
 *   `**`   any run of characters including "/" (possibly empty)
 *   `**\/` at the start of a segment: zero or more whole, non-empty segments,
 *          so `a/**\/b` matches `a/b` and `a/x/y/b`, never `a//b`
 *   `***`  is not defined and refused
 *
 * Every other character is literal. Matching simulates the glob as a
 * nondeterministic automaton (one pass over the text, a set of states per
 * character), so its cost is linear in the text for a given glob: no input can
 * make it backtrack (`a/**\/**\/**\/z` against a long name used to take seconds
 * as a backtracking regular expression).
 */

export interface GlobMatcher {
  readonly glob: string;
  test(text: string): boolean;
}

export type Token = { readonly kind: 'lit'; readonly text: string } | { readonly kind: 'star' | 'dstar' | 'segs' };

/** Checks the glob's syntax; throws on `***`. */
export function checkGlob(glob: string): void {
  if (glob.includes('***')) throw new Error(`${JSON.stringify(glob)}: "***" is not defined (use "*" within a segment or "**" across segments)`);
}

/** `startsSegment` is false when the glob continues text that came before it (a template value). */
export function globTokens(glob: string, startsSegment = true): Token[] {
  checkGlob(glob);
  const tokens: Token[] = [];
  let literal = '';
  const flush = (): void => {
    if (literal !== '') tokens.push({ kind: 'lit', text: literal });
    literal = '';
  };
  for (let i = 0; i < glob.length; ) {
    if (glob.startsWith('**/', i) && (i === 0 ? startsSegment : glob[i - 1] === '/')) {
      flush();
      tokens.push({ kind: 'segs' });
      i += 3;
    } else if (glob.startsWith('**', i)) {
      flush();
      tokens.push({ kind: 'dstar' });
      i += 2;
    } else if (glob[i] === '*') {
      flush();
      tokens.push({ kind: 'star' });
      i++;
    } else {
      literal += glob[i];
      i++;
    }
  }
  flush();
  return tokens;
}

/**
 * Joins adjacent literals and folds wildcards that mean the same as one of
 * them (`**\/**\/` is `**\/`; `*` or `**\/` next to `**` is `**`; `*` next to `*` is `*`),
 * which keeps the automaton small whatever the pattern's author wrote.
 */
function normalize(tokens: readonly Token[]): Token[] {
  const out: Token[] = [];
  for (const t of tokens) {
    const prev = out[out.length - 1];
    if (prev === undefined) {
      out.push(t);
      continue;
    }
    if (t.kind === 'lit') {
      if (t.text === '') continue;
      if (prev.kind === 'lit') out[out.length - 1] = { kind: 'lit', text: prev.text + t.text };
      else out.push(t);
    } else if (prev.kind === 'lit') {
      out.push(t);
    } else if (prev.kind === 'dstar' || t.kind === 'dstar') {
      out[out.length - 1] = { kind: 'dstar' };
    } else if (prev.kind === t.kind) {
      // star+star, segs+segs: the same language as one of them
    } else {
      out.push(t);
    }
  }
  return out;
}

export function hasGlob(pattern: string): boolean {
  return pattern.includes('*');
}

export function compileGlob(glob: string, startsSegment = true): GlobMatcher {
  return { glob, test: matcherFromTokens(globTokens(glob, startsSegment)) };
}

/** A linear-time test for a token sequence (used by templates, which splice values in as literals). */
export function matcherFromTokens(raw: readonly Token[]): (text: string) => boolean {
  const tokens = normalize(raw);
  return shapeMatcher(tokens) ?? automaton(tokens);
}

/** Direct tests for the common shapes (`team/app`, `team/**`, `team/*`, `refs/tags/v*`). */
function shapeMatcher(tokens: readonly Token[]): ((text: string) => boolean) | undefined {
  const [a, b, c] = tokens;
  if (a === undefined) return (text) => text === '';
  if (tokens.length === 1) {
    if (a.kind === 'lit') return (text) => text === a.text;
    if (a.kind === 'dstar') return () => true;
    if (a.kind === 'star') return (text) => !text.includes('/');
    return undefined;
  }
  if (tokens.length === 2 && a.kind === 'lit' && b !== undefined) {
    const p = a.text;
    if (b.kind === 'dstar') return (text) => text.startsWith(p);
    if (b.kind === 'star') return (text) => text.startsWith(p) && text.indexOf('/', p.length) < 0;
  }
  if (tokens.length === 3 && a.kind === 'lit' && b?.kind === 'dstar' && c?.kind === 'lit') {
    const p = a.text;
    const s = c.text;
    return (text) => text.length >= p.length + s.length && text.startsWith(p) && text.endsWith(s);
  }
  return undefined;
}

const CHAR = 0;
const STAR = 1;
const DSTAR = 2;
const SEGS_START = 3;
const SEGS_IN = 4;
const SLASH = 47;

/**
 * The general case. States: one per literal character, one per `*`/`**`, two
 * per `**\/` (between segments; inside a segment). Each state's epsilon closure
 * is precomputed, so a step is a walk over the current state list.
 */
function automaton(tokens: readonly Token[]): (text: string) => boolean {
  const kinds: number[] = [];
  const chars: number[] = [];
  for (const t of tokens) {
    if (t.kind === 'lit') {
      for (let i = 0; i < t.text.length; i++) {
        kinds.push(CHAR);
        chars.push(t.text.charCodeAt(i));
      }
    } else if (t.kind === 'segs') {
      kinds.push(SEGS_START, SEGS_IN);
      chars.push(0, 0);
    } else {
      kinds.push(t.kind === 'star' ? STAR : DSTAR);
      chars.push(0);
    }
  }
  const accept = kinds.length;
  const closure: Int32Array[] = [];
  for (let s = 0; s <= accept; s++) {
    const out: number[] = [];
    let q = s;
    for (;;) {
      out.push(q);
      const k = kinds[q];
      if (k === STAR || k === DSTAR) q += 1;
      else if (k === SEGS_START) q += 2;
      else break;
    }
    closure.push(Int32Array.from(out));
  }
  const literalPrefix = tokens[0]?.kind === 'lit' ? tokens[0].text : '';

  return (text) => {
    if (!text.startsWith(literalPrefix)) return false;
    // Per-call buffers keep the matcher re-entrant; states are few (pattern length).
    const mark = new Int32Array(accept + 1).fill(-1);
    let cur: number[] = [];
    let next: number[] = [];
    const add = (list: number[], s: number, gen: number): void => {
      const cl = closure[s] as Int32Array;
      for (let i = 0; i < cl.length; i++) {
        const q = cl[i] as number;
        if (mark[q] !== gen) {
          mark[q] = gen;
          list.push(q);
        }
      }
    };
    add(cur, 0, 0);
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      const gen = i + 1;
      next.length = 0;
      for (let j = 0; j < cur.length; j++) {
        const s = cur[j] as number;
        switch (kinds[s]) {
          case CHAR:
            if (chars[s] === ch) add(next, s + 1, gen);
            break;
          case STAR:
            if (ch !== SLASH) add(next, s, gen);
            break;
          case DSTAR:
            add(next, s, gen);
            break;
          case SEGS_START:
            if (ch !== SLASH) add(next, s + 1, gen);
            break;
          case SEGS_IN:
            add(next, ch === SLASH ? s - 1 : s, gen);
            break;
          default:
            break; // the accepting state has no transitions
        }
      }
      if (next.length === 0) return false;
      const t = cur;
      cur = next;
      next = t;
    }
    return mark[accept] === text.length;
  };
}
