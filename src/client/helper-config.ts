import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { ClientError } from './errors.js';
import { helperConfigFile, type Env } from './paths.js';

/**
 * CI mode of the credential helper (`helper.yaml` in the config directory, or $PORTCULLIS_HELPER_CONFIG).
 * Environment variables override the file, so a pipeline can configure it without writing one.
 */
const ciSchema = z
  .object({
    /** The broker's URL: the default audience, and named in messages. */
    broker: z.string().min(1).optional(),
    /** The audience to request from GitHub Actions; must be one the broker accepts for that issuer. */
    audience: z.string().min(1).optional(),
    /** GitLab: the name of the `id_tokens` variable holding the job's ID token. */
    idTokenVariable: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional(),
    /** A file holding a current ID token, re-read on every call (Kubernetes projected service-account token). */
    idTokenFile: z.string().min(1).optional(),
    /** Only answer for these registry hosts; default every host the helper is asked about. */
    registries: z.array(z.string().min(1)).optional(),
  })
  .strict();
export type CiConfig = z.infer<typeof ciSchema>;

const fileSchema = z.object({ ci: ciSchema.optional() }).strict();

export async function loadCiConfig(env: Env): Promise<CiConfig> {
  const file = helperConfigFile(env);
  let fromFile: CiConfig = {};
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ClientError('bad_file', `cannot read ${file}: ${(err as Error).message}`);
  }
  if (text !== undefined) {
    let raw: unknown;
    try {
      raw = parse(text) ?? {};
    } catch (err) {
      throw new ClientError('bad_file', `${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    const parsed = fileSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ClientError('bad_file', `${file}: ${issue?.path.join('.') || '(top level)'}: ${issue?.message ?? 'invalid'}`);
    }
    fromFile = parsed.data.ci ?? {};
  }
  const fromEnv = ciSchema.safeParse({
    ...(env.PORTCULLIS_BROKER ? { broker: env.PORTCULLIS_BROKER } : {}),
    ...(env.PORTCULLIS_AUDIENCE ? { audience: env.PORTCULLIS_AUDIENCE } : {}),
    ...(env.PORTCULLIS_ID_TOKEN_VARIABLE ? { idTokenVariable: env.PORTCULLIS_ID_TOKEN_VARIABLE } : {}),
    ...(env.PORTCULLIS_ID_TOKEN_FILE ? { idTokenFile: env.PORTCULLIS_ID_TOKEN_FILE } : {}),
  });
  if (!fromEnv.success) throw new ClientError('invalid_input', `PORTCULLIS_ID_TOKEN_VARIABLE: ${fromEnv.error.issues[0]?.message ?? 'invalid'}`);
  return { ...fromFile, ...fromEnv.data };
}
