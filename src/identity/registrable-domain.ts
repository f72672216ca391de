/**
 * Where a wildcard issuer's `*` may stand: below the registrable domain, never in it.
 * "Registrable" follows the Public Suffix List including its private section (tldts ships the
 * list in the package, so this needs no network): `github.io`, `co.uk`, `s3.amazonaws.com`
 * and `pages.dev` are suffixes under which anyone can get a host, so `*.github.io` would
 * trust every GitHub Pages site as an issuer.
 */
import { parse } from 'tldts';

/** Stands in for `*` when asking the list; a label no suffix rule names specifically. */
const PROBE_LABEL = 'portcullis-wildcard-probe';

/**
 * Why `host` (a URL host in which `*` may stand for one label or part of one) would let the
 * wildcard choose the registrable domain, or undefined when every host it matches shares one
 * registrable domain that the pattern spells out literally.
 */
export function wildcardCoversRegistrableDomain(host: string): string | undefined {
  const labels = host.toLowerCase().split('.');
  const lastWildcard = labels.findLastIndex((label) => label.includes('*'));
  if (lastWildcard < 0) return undefined;
  const fixedTail = labels.slice(lastWildcard + 1).join('.');
  if (fixedTail === '') return 'the wildcard is in the last label';
  const probe = parse(labels.map((label) => label.replaceAll('*', PROBE_LABEL)).join('.'), { allowPrivateDomains: true });
  if (probe.isIp === true) return 'the host is an IP address';
  const domain = probe.domain;
  // The registrable domain of a matching host must lie wholly in the literal labels after the last `*`.
  if (domain === null || domain === '') return `the hosts it matches are public suffixes (after ${fixedTail})`;
  if (fixedTail !== domain && !fixedTail.endsWith(`.${domain}`)) {
    return `${fixedTail} is a public suffix (registrable domains under it belong to different owners)`;
  }
  return undefined;
}
