/**
 * A reference model of the trust-policy semantics, written from docs/policy.md
 * alone and deliberately sharing no code with src/policy (only the registry's
 * scope parser is used, by the test, to build requests). It favours being
 * obviously right over being fast: globs are matched by plain recursion,
 * everything is recomputed per request.
 *
 * Covered: issuers and anonymous rules, `when` with every operator and
 * `asString`, claim paths with escaped dots, `service`, templates in allow and
 * deny patterns, the github-actions and gitlab presets' untrusted events
 * (explicit `provider:` or inferred from the issuer URL), allow/deny per
 * action, `*` and catalog requests, `matchedRules` and `tokenLifetime`.
 * `clientIp` for IPv4 ranges and addresses (IPv4-mapped IPv6 counts as IPv4).
 * Not covered: `cel`, IPv6 ranges (the generator does not produce them).
 */

export type Scalar = string | number | boolean;
export type Cond = Scalar | CondOps;
export interface CondOps {
  equals?: Scalar;
  oneOf?: Scalar[];
  glob?: string;
  regex?: string;
  exists?: boolean;
  not?: Cond;
  any?: Cond;
  all?: Cond;
  asString?: boolean;
}
export type GrantDoc = { repository: string | string[]; actions: string[] } | { registry: 'catalog' };
export interface RuleDoc {
  id: string;
  effect: 'allow' | 'deny';
  provider?: string;
  issuer?: string | string[];
  anonymous?: true;
  when?: Record<string, Cond>;
  service?: string | string[];
  clientIp?: string | string[];
  grants: GrantDoc[];
  tokenLifetime?: number;
  allowUntrustedEvents?: boolean;
}
export interface PolicyDoc {
  version: 1;
  rules: RuleDoc[];
}
export interface ModelScope {
  type: string;
  name: string;
  actions: readonly string[];
}
export interface ModelRequest {
  identity: { issuer: string; claims: Record<string, unknown> } | null;
  scopes: readonly ModelScope[];
  service: string;
  clientIp?: string;
}
export interface ModelDecision {
  access: { type: string; name: string; actions: string[] }[];
  matchedRules: string[];
  tokenLifetime: number | null;
}

// The preset table of docs/policy.md ("Provider presets").
const PRESETS: Record<string, { issuer: string; event?: { claim: string; untrusted: string[] } }> = {
  'github-actions': { issuer: 'https://token.actions.githubusercontent.com', event: { claim: 'event_name', untrusted: ['pull_request', 'pull_request_target'] } },
  gitlab: { issuer: 'https://gitlab.com', event: { claim: 'pipeline_source', untrusted: ['merge_request_event', 'external_pull_request_event'] } },
  buildkite: { issuer: 'https://agent.buildkite.com' },
  google: { issuer: 'https://accounts.google.com' },
};

const CLAIM_VALUE_LIMIT = 1024;

// ---- claim paths: "." separates, "\." is a dot, "\\" a backslash
function claimPath(key: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < key.length; i++) {
    if (key[i] === '\\') {
      cur += key[i + 1];
      i++;
    } else if (key[i] === '.') {
      out.push(cur);
      cur = '';
    } else cur += key[i];
  }
  out.push(cur);
  return out;
}

function lookup(claims: Record<string, unknown>, path: string[]): unknown {
  let node: unknown = claims;
  for (const seg of path) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(node, seg)) return undefined;
    node = (node as Record<string, unknown>)[seg];
  }
  return node;
}

// ---- globs: `*` any run without "/", `**` any run, `**/` at a segment start = zero or more non-empty segments
export function modelGlob(glob: string, text: string): boolean {
  const memo = new Map<string, boolean>();
  const go = (g: number, t: number): boolean => {
    const key = `${g},${t}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r: boolean;
    if (g === glob.length) r = t === text.length;
    else if (glob.startsWith('**/', g) && (g === 0 || glob[g - 1] === '/')) {
      r = go(g + 3, t);
      if (!r) {
        const slash = text.indexOf('/', t);
        r = slash > t && go(g, slash + 1);
      }
    } else if (glob.startsWith('**', g)) {
      r = false;
      for (let k = t; k <= text.length && !r; k++) r = go(g + 2, k);
    } else if (glob[g] === '*') {
      r = false;
      for (let k = t; k <= text.length && !r; k++) {
        if (k > t && text[k - 1] === '/') break;
        r = go(g + 1, k);
      }
    } else r = t < text.length && text[t] === glob[g] && go(g + 1, t + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

// ---- conditions
function textForm(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') return String(v);
  return undefined;
}

function holds(cond: Cond, raw: unknown): boolean {
  const v = typeof raw === 'string' && raw.length > CLAIM_VALUE_LIMIT ? undefined : raw; // too long counts as missing
  if (typeof cond !== 'object') return v !== undefined && v === cond;
  const onlyExistsFalse = cond.exists === false && cond.equals === undefined && cond.oneOf === undefined && cond.glob === undefined && cond.regex === undefined && cond.not === undefined && cond.any === undefined && cond.all === undefined;
  if (v === undefined) return onlyExistsFalse;
  const asText = cond.asString === true;
  const text = asText ? textForm(v) : typeof v === 'string' ? v : undefined;
  if (cond.equals !== undefined) {
    if (asText ? textForm(v) !== String(cond.equals) : v !== cond.equals) return false;
  }
  if (cond.oneOf !== undefined) {
    if (asText) {
      const t = textForm(v);
      if (t === undefined || !cond.oneOf.map(String).includes(t)) return false;
    } else if (!(['string', 'number', 'boolean'].includes(typeof v) && cond.oneOf.includes(v as Scalar))) return false;
  }
  if (cond.glob !== undefined && (text === undefined || !modelGlob(cond.glob, text))) return false;
  if (cond.regex !== undefined && (text === undefined || !new RegExp(`^(?:${cond.regex})$`, 'u').test(text))) return false;
  if (cond.exists !== undefined && cond.exists !== true) return false; // present, so exists: false fails
  if (cond.not !== undefined && holds(cond.not, v)) return false;
  if (cond.any !== undefined && !(Array.isArray(v) && v.some((e) => holds(cond.any as Cond, e)))) return false;
  if (cond.all !== undefined && !(Array.isArray(v) && v.length > 0 && v.every((e) => holds(cond.all as Cond, e)))) return false;
  return true;
}

// ---- templates
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

function templateText(v: unknown): string | undefined {
  let t: string;
  if (typeof v === 'string') t = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) t = String(v);
  else return undefined;
  return t.length <= 255 && PATH_COMPONENT.test(t) ? t : undefined;
}

/** The glob a pattern stands for under these claims; undefined when an allow pattern does not apply. */
function boundPattern(pattern: string, claims: Record<string, unknown> | undefined, deny: boolean): string | undefined {
  let ok = true;
  const out = pattern.replace(/\$\{([^}]*)\}/g, (_m, name: string) => {
    const value = claims === undefined ? undefined : templateText(lookup(claims, claimPath(name)));
    if (value !== undefined) return value;
    if (deny) return '*';
    ok = false;
    return '';
  });
  return ok ? out : undefined;
}

// ---- client addresses: IPv4 "a.b.c.d", a range "a.b.c.d/n" or a single address; "::ffff:a.b.c.d" is IPv4
function ipv4(text: string): number | undefined {
  const m = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/i.exec(text);
  if (m === null) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

function inRange(ip: string | undefined, range: string): boolean {
  const addr = ip === undefined ? undefined : ipv4(ip);
  if (addr === undefined) return false;
  const [base, bits = '32'] = range.split('/');
  const net = ipv4(base as string);
  if (net === undefined) return false;
  const size = 2 ** (32 - Number(bits));
  return Math.floor(addr / size) === Math.floor(net / size);
}

// ---- rules
function issuersOf(rule: RuleDoc): string[] {
  if (rule.issuer !== undefined) return Array.isArray(rule.issuer) ? rule.issuer : [rule.issuer];
  const preset = rule.provider === undefined ? undefined : PRESETS[rule.provider];
  return preset === undefined ? [] : [preset.issuer];
}

/** Untrusted event for this rule and token: the rule then grants at most pull, no catalog. */
function untrusted(rule: RuleDoc, req: ModelRequest): boolean {
  if (rule.effect !== 'allow' || rule.allowUntrustedEvents === true || req.identity === null) return false;
  let preset = rule.provider === undefined ? undefined : PRESETS[rule.provider];
  if (preset === undefined && rule.provider === undefined) {
    // A rule naming a provider's issuer URL gets that provider's defaults, for that issuer's tokens.
    const iss = req.identity.issuer;
    preset = Object.values(PRESETS).find((p) => p.issuer === iss && issuersOf(rule).includes(iss));
  }
  if (preset?.event === undefined) return false;
  const value = lookup(req.identity.claims, [preset.event.claim]);
  return typeof value !== 'string' || value === '' || preset.event.untrusted.includes(value);
}

function applies(rule: RuleDoc, req: ModelRequest): boolean {
  if (req.identity === null) {
    if (rule.anonymous !== true) return false;
  } else if (rule.anonymous === true || !issuersOf(rule).includes(req.identity.issuer)) return false;
  if (rule.service !== undefined && !(Array.isArray(rule.service) ? rule.service : [rule.service]).includes(req.service)) return false;
  if (rule.clientIp !== undefined && !(Array.isArray(rule.clientIp) ? rule.clientIp : [rule.clientIp]).some((r) => inRange(req.clientIp, r))) return false;
  const claims = req.identity?.claims ?? {};
  for (const [key, cond] of Object.entries(rule.when ?? {})) if (!holds(cond, lookup(claims, claimPath(key)))) return false;
  return true;
}

const REPOSITORY_ACTIONS = ['delete', 'pull', 'push'];

function grantable(s: ModelScope): string[] {
  if (s.type === 'repository') return REPOSITORY_ACTIONS;
  if (s.type === 'registry' && s.name === 'catalog') return ['*'];
  return [];
}

/** The result for one resource, and the concrete actions it stands for. */
function result(s: ModelScope, allowed: Set<string>, denied: Set<string>): { actions: string[]; covers: string[] } {
  const can = grantable(s);
  const effective = can.filter((a) => (allowed.has('*') || allowed.has(a)) && !denied.has('*') && !denied.has(a));
  if (s.actions.includes('*')) {
    if (allowed.has('*') && denied.size === 0 && can.length > 0) return { actions: ['*'], covers: can };
    const explicit = effective.filter((a) => a !== '*').sort();
    return { actions: explicit, covers: explicit };
  }
  const actions = s.actions.filter((a) => a !== '*' && effective.includes(a));
  return { actions, covers: actions };
}

export function modelEvaluate(doc: PolicyDoc, req: ModelRequest): ModelDecision {
  // Scopes naming the same resource are merged.
  const merged: ModelScope[] = [];
  for (const s of req.scopes) {
    const same = merged.find((m) => m.type === s.type && m.name === s.name);
    if (same === undefined) merged.push({ type: s.type, name: s.name, actions: [...new Set(s.actions)] });
    else same.actions = [...new Set([...same.actions, ...s.actions])];
  }

  const matching = doc.rules.filter((r) => applies(r, req));
  const contributed = new Set<string>();
  const access = merged.map((s) => {
    const allowBy = new Map<string, Set<string>>(); // action → rule ids
    const denyBy = new Map<string, Set<string>>();
    for (const rule of matching) {
      const pullOnly = untrusted(rule, req);
      for (const g of rule.grants) {
        let actions: string[];
        if ('registry' in g) {
          if (!(s.type === 'registry' && s.name === 'catalog') || pullOnly) continue;
          actions = ['*'];
        } else {
          if (s.type !== 'repository') continue;
          const patterns = Array.isArray(g.repository) ? g.repository : [g.repository];
          const hit = patterns.some((p) => {
            const glob = boundPattern(p, req.identity?.claims, rule.effect === 'deny');
            return glob !== undefined && modelGlob(glob, s.name);
          });
          if (!hit) continue;
          actions = g.actions;
          if (pullOnly) actions = actions.includes('*') || actions.includes('pull') ? ['pull'] : [];
        }
        const into = rule.effect === 'allow' ? allowBy : denyBy;
        for (const a of actions) {
          const set = into.get(a) ?? new Set<string>();
          set.add(rule.id);
          into.set(a, set);
        }
      }
    }
    const allowed = new Set(allowBy.keys());
    const denied = new Set(denyBy.keys());
    const { actions, covers } = result(s, allowed, denied);
    for (const a of covers) for (const id of [...(allowBy.get(a) ?? []), ...(allowBy.get('*') ?? [])]) contributed.add(id);
    const would = result(s, allowed, new Set()).covers;
    if (would.length > 0) for (const [d, ids] of denyBy) if (d === '*' || would.includes(d)) for (const id of ids) contributed.add(id);
    return { type: s.type, name: s.name, actions: [...actions].sort() };
  });

  const matchedRules = doc.rules.filter((r) => contributed.has(r.id));
  const caps = matchedRules.filter((r) => r.effect === 'allow' && r.tokenLifetime !== undefined).map((r) => r.tokenLifetime as number);
  return { access, matchedRules: matchedRules.map((r) => r.id), tokenLifetime: caps.length === 0 ? null : Math.min(...caps) };
}
