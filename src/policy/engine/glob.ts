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

/** The text every match starts with: the glob up to its first `*` (all of it without one). */
export function globLiteralPrefix(glob: string): string {
  const star = glob.indexOf('*');
  return star < 0 ? glob : glob.slice(0, star);
}

/** `maxDfaStates` bounds the lazily built table (lowered only by tests, to exercise the fallback). */
export function compileGlob(glob: string, startsSegment = true, maxDfaStates = MAX_DFA_STATES): GlobMatcher {
  return { glob, test: matcherFromTokens(globTokens(glob, startsSegment), maxDfaStates) };
}

/** A linear-time test for a token sequence (used by templates, which splice values in as literals). */
export function matcherFromTokens(raw: readonly Token[], maxDfaStates = MAX_DFA_STATES): (text: string) => boolean {
  const tokens = normalize(raw);
  return shapeMatcher(tokens) ?? automaton(tokens, maxDfaStates);
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

const MAX_DFA_STATES = 256;
const UNKNOWN = -1;
const DEAD = 0;

/**
 * The general case: a nondeterministic automaton (one state per literal
 * character, one per `*`/`**`, two per `**\/`: between segments, inside one),
 * turned into a deterministic one lazily, as texts are matched. Characters
 * fall into classes (`/`, each literal character of the glob, anything else),
 * so a step is one table lookup; the table is bounded (MAX_DFA_STATES), and a
 * text that needs more states finishes on the set simulation, which is still
 * linear in the text.
 */
function automaton(tokens: readonly Token[], maxDfaStates: number): (text: string) => boolean {
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

  // Character classes: 0 = a character the glob never names, 1 = "/", 2… = each literal character.
  const ascii = new Int32Array(128);
  const wide = new Map<number, number>();
  ascii[SLASH] = 1;
  let classes = 2;
  for (let s = 0; s < accept; s++) {
    const c = chars[s] as number;
    if (kinds[s] !== CHAR || c === SLASH) continue;
    if (c < 128) {
      if (ascii[c] === 0) ascii[c] = classes++;
    } else if (!wide.has(c)) wide.set(c, classes++);
  }
  const classOf = (ch: number): number => (ch < 128 ? (ascii[ch] as number) : (wide.get(ch) ?? 0));
  const stateClass = chars.map((c, s) => (kinds[s] === CHAR ? classOf(c) : -1));

  const closure = (s: number, into: Set<number>): void => {
    for (let q = s; ; ) {
      into.add(q);
      const k = kinds[q];
      if (k === STAR || k === DSTAR) q += 1;
      else if (k === SEGS_START) q += 2;
      else break;
    }
  };
  const step = (set: readonly number[], cls: number): number[] => {
    const out = new Set<number>();
    for (const s of set) {
      switch (kinds[s]) {
        case CHAR:
          if (stateClass[s] === cls) closure(s + 1, out);
          break;
        case STAR:
          if (cls !== 1) closure(s, out);
          break;
        case DSTAR:
          closure(s, out);
          break;
        case SEGS_START:
          if (cls !== 1) closure(s + 1, out);
          break;
        case SEGS_IN:
          closure(cls === 1 ? s - 1 : s, out);
          break;
        default:
          break; // the accepting state has no transitions
      }
    }
    return [...out].sort((a, b) => a - b);
  };

  // DFA state 0 is the dead state (no NFA state left).
  const sets: number[][] = [[]];
  const accepting: boolean[] = [false];
  const ids = new Map<string, number>([['', DEAD]]);
  const table: number[] = new Array<number>(classes).fill(DEAD);
  const stateFor = (set: number[]): number => {
    const key = set.join(',');
    const known = ids.get(key);
    if (known !== undefined) return known;
    if (sets.length >= maxDfaStates) return UNKNOWN;
    const id = sets.length;
    sets.push(set);
    accepting.push(set.includes(accept));
    ids.set(key, id);
    for (let c = 0; c < classes; c++) table.push(UNKNOWN);
    return id;
  };
  const startSet = new Set<number>();
  closure(0, startSet);
  const start = stateFor([...startSet].sort((a, b) => a - b));
  const literalPrefix = tokens[0]?.kind === 'lit' ? tokens[0].text : '';

  return (text) => {
    if (!text.startsWith(literalPrefix)) return false;
    let d = start;
    for (let i = 0; i < text.length; i++) {
      const cls = classOf(text.charCodeAt(i));
      let n = table[d * classes + cls] as number;
      if (n === UNKNOWN) {
        const set = step(sets[d] as number[], cls);
        n = stateFor(set);
        if (n === UNKNOWN) return simulate(set, text, i + 1);
        table[d * classes + cls] = n;
      }
      if (n === DEAD) return false;
      d = n;
    }
    return accepting[d] as boolean;
  };

  /** The table is full: finish this text on state sets. */
  function simulate(from: number[], text: string, at: number): boolean {
    let set = from;
    for (let i = at; i < text.length && set.length > 0; i++) set = step(set, classOf(text.charCodeAt(i)));
    return set.includes(accept);
  }
}
