import { z } from 'zod';
import { ClientError } from './errors.js';
import { readJsonObject, writeJsonAtomic } from './json-file.js';

/** What `portcullis login` keeps per broker. The refresh token is the only secret. */
export const loginSchema = z.object({
  broker: z.string(),
  service: z.string(),
  tokenEndpoint: z.string(),
  revocationEndpoint: z.string(),
  refreshToken: z.string().min(1),
  /** ISO time the session ends at the latest. */
  expiresAt: z.string(),
  subject: z.string().optional(),
  issuer: z.string().optional(),
  name: z.string().optional(),
  registries: z.array(z.string()),
});
export type Login = z.infer<typeof loginSchema>;

const fileSchema = z.object({
  version: z.literal(1),
  logins: z.record(z.string(), loginSchema),
  /**
   * Registry host → broker URL. Not secret, and kept after logout, so the helper can still tell the
   * person which broker to sign in to instead of falling back to anonymous access.
   */
  registries: z.record(z.string(), z.string()),
});
export type LoginsFile = z.infer<typeof fileSchema>;

const EMPTY: LoginsFile = { version: 1, logins: {}, registries: {} };

/** The 0600 file of logins (see paths.loginsFile). */
export class LoginStore {
  constructor(readonly file: string) {}

  async read(): Promise<LoginsFile> {
    const raw = await readJsonObject(this.file);
    if (Object.keys(raw).length === 0) return structuredClone(EMPTY);
    const parsed = fileSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ClientError('bad_file', `${this.file} is damaged (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}); remove it and log in again`);
    }
    return parsed.data;
  }

  private async write(data: LoginsFile): Promise<void> {
    await writeJsonAtomic(this.file, data, { mode: 0o600, dirMode: 0o700, forceMode: true });
  }

  async save(login: Login): Promise<void> {
    const data = await this.read();
    data.logins[login.broker] = login;
    for (const host of login.registries) data.registries[host] = login.broker;
    await this.write(data);
  }

  /** Forgets the broker's refresh token; the registry → broker map stays. */
  async remove(broker: string): Promise<boolean> {
    const data = await this.read();
    if (!(broker in data.logins)) return false;
    delete data.logins[broker];
    await this.write(data);
    return true;
  }

  /** The broker serving `host` (known from an earlier login) and its login, if still present. */
  async forRegistry(host: string): Promise<{ broker: string; login: Login | undefined } | undefined> {
    const data = await this.read();
    const broker = data.registries[host];
    if (broker === undefined) return undefined;
    return { broker, login: data.logins[broker] };
  }
}
