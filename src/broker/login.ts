import type { Config } from '../config/index.js';
import { ConfigError, readSecret } from '../config/index.js';
import type { IssuerConfig } from '../identity/index.js';
import type { LoginSettings } from '../login/index.js';

/** The verifier entries for people's providers: issuer, audience = client id, verified email only. */
export function loginIssuers(config: Config): IssuerConfig[] {
  const ids = new Set(config.issuers.map((i) => i.id));
  const urls = new Set(config.issuers.map((i) => i.issuer));
  return config.login.providers.map((p, i) => {
    if (ids.has(p.id)) throw new ConfigError(`login.providers[${i}].id: ${JSON.stringify(p.id)} is also an id under issuers; use another`);
    if (urls.has(p.issuer)) {
      throw new ConfigError(
        `login.providers[${i}].issuer: ${p.issuer} is also listed under issuers; a people provider is trusted automatically, remove it there`,
      );
    }
    return {
      id: p.id,
      issuer: p.issuer,
      audiences: [p.clientId],
      algorithms: [...p.algorithms],
      clockSkew: p.clockSkew,
      verifiedEmailClaim: p.verifiedEmailClaim,
    };
  });
}

/** The `login:` section, with secrets read and defaults resolved. */
export function loginSettings(config: Config, publicUrl: string, env?: NodeJS.ProcessEnv): LoginSettings & { secureCookies: boolean } {
  const l = config.login;
  const secure = l.browserSession.secureCookie === 'always' || (l.browserSession.secureCookie === 'auto' && publicUrl.startsWith('https://'));
  return {
    brokerName: l.brokerName,
    publicUrl,
    services: config.token.services,
    registries: l.registries,
    providers: l.providers.map((p, i) => ({
      id: p.id,
      name: p.name ?? p.id,
      issuer: p.issuer,
      clientId: p.clientId,
      ...(p.clientSecret !== undefined ? { clientSecret: readSecret(p.clientSecret, `login.providers[${i}].clientSecret`, env).trim() } : {}),
      scopes: p.scopes,
      nameClaims: p.nameClaims,
      ...(p.groupsClaim !== undefined ? { groupsClaim: p.groupsClaim } : {}),
      authorizationParams: p.authorizationParams,
    })),
    resultCodeLifetimeSec: l.resultCodeLifetime,
    handoffCodeLifetimeSec: 120,
    flowLifetimeSec: 600,
    browserSessionLifetimeSec: l.browserSession.lifetime,
    device: {
      codeLifetimeSec: l.device.codeLifetime,
      intervalSec: l.device.interval,
      maxUserCodeAttempts: l.device.maxUserCodeAttempts,
      attemptWindowSec: l.device.attemptWindow,
    },
    secureCookies: secure,
  };
}
