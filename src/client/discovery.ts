import { z } from 'zod';
import { checkEndpoint } from './broker-url.js';
import { ClientError } from './errors.js';
import { getJson } from './http.js';

const discoverySchema = z.object({
  broker: z.string(),
  token_endpoint: z.string(),
  services: z.array(z.string()).default([]),
  registries: z.array(z.string()).default([]),
  login: z
    .object({
      authorization_endpoint: z.string(),
      device_authorization_endpoint: z.string(),
      token_endpoint: z.string(),
      revocation_endpoint: z.string(),
      providers: z.array(z.object({ id: z.string(), name: z.string() })).default([]),
    })
    .optional(),
});

export interface LoginEndpoints {
  authorization: string;
  deviceAuthorization: string;
  token: string;
  revocation: string;
  providers: { id: string; name: string }[];
}

export interface BrokerInfo {
  broker: string;
  /** The registry token endpoint (`/token`): where refresh tokens are used. */
  tokenEndpoint: string;
  services: string[];
  registries: string[];
  /** Absent when the broker has no sign-in provider for people. */
  login: LoginEndpoints | undefined;
}

/** Reads `/.well-known/portcullis` of the broker at `brokerUrl` (already normalised). */
export async function discover(brokerUrl: string): Promise<BrokerInfo> {
  const url = `${brokerUrl}/.well-known/portcullis`;
  const { status, body } = await getJson(url);
  if (status === 404) throw new ClientError('bad_answer', `${brokerUrl} does not look like a Portcullis broker (no /.well-known/portcullis)`);
  if (status !== 200) throw new ClientError('bad_answer', `${url} answered ${status}`);
  const parsed = discoverySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ClientError('bad_answer', `${url} is not a valid discovery document (${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''})`);
  }
  const d = parsed.data;
  return {
    broker: brokerUrl,
    tokenEndpoint: checkEndpoint('token_endpoint', d.token_endpoint),
    services: d.services,
    registries: d.registries.map((r) => r.toLowerCase()),
    login: d.login && {
      authorization: checkEndpoint('authorization_endpoint', d.login.authorization_endpoint),
      deviceAuthorization: checkEndpoint('device_authorization_endpoint', d.login.device_authorization_endpoint),
      token: checkEndpoint('login token_endpoint', d.login.token_endpoint),
      revocation: checkEndpoint('revocation_endpoint', d.login.revocation_endpoint),
      providers: d.login.providers,
    },
  };
}
