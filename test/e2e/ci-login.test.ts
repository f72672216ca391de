/**
 * The CI integrations under deploy/ run for real: the GitHub Action's script
 * against a loopback stand-in for the runner's ID-token service, the GitLab
 * template's script with the token GitLab puts in the job's environment. Both
 * log podman, buildah and skopeo in to Debian's docker-registry through the
 * broker, and the stored login then pushes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { TestIssuer, githubActionsClaims } from '../helpers/issuer.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { startRegistryFor, type RunningRegistry } from '../helpers/registry.js';
import { buildOciImage, type OciImage } from '../helpers/oci.js';
import { dockerRef, inspectDigest, skopeo } from '../helpers/skopeo.js';
import { ContainerEngine, assertEngineOk } from '../helpers/podman.js';
import { findBinary, runProcess, type RunResult } from '../helpers/processes.js';
import { ROOT } from '../helpers/cli.js';

const SERVICE = 'e2e-registry';
const AUD = 'https://github.com/octo-org';
const REQUEST_TOKEN = 'runner-request-token-0123456789';

type Rec = Record<string, unknown>;

/** The runner's ID-token service as a composite action sees it: GET <url>&audience=… with a bearer request token. */
class IdTokenService {
  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly requests: { audience: string | null; authorization: string | undefined }[],
  ) {}

  static async start(mint: (audience: string) => Promise<string>): Promise<IdTokenService> {
    const requests: IdTokenService['requests'] = [];
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const audience = url.searchParams.get('audience');
      requests.push({ audience, authorization: req.headers.authorization });
      if (url.pathname !== '/_apis/idtoken' || url.searchParams.get('api-version') !== '2.0' || req.headers.authorization !== `bearer ${REQUEST_TOKEN}`) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"unauthorized"}');
        return;
      }
      void mint(audience ?? 'api://ActionsTokenService').then((value) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count: 1, value }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new IdTokenService(server, `http://127.0.0.1:${port}/_apis/idtoken?api-version=2.0`, requests);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The `env:` of a composite step with `${{ inputs.x }}` filled in the way the runner does. */
function stepEnv(action: Rec, step: Rec, inputs: Record<string, string>): Record<string, string> {
  const declared = action.inputs as Record<string, { default?: string; required?: boolean }>;
  for (const name of Object.keys(inputs)) if (!(name in declared)) throw new Error(`action.yml has no input ${name}`);
  return Object.fromEntries(
    Object.entries(step.env as Record<string, string>).map(([k, v]) => [
      k,
      v.replace(/\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}/g, (_m, name: string) => inputs[name] ?? declared[name]?.default ?? ''),
    ]),
  );
}

describe('CI integrations log container clients in with the job ID token', () => {
  let issuer: TestIssuer;
  let broker: TestBroker;
  let registry: RunningRegistry;
  let image: OciImage;
  let tokens: IdTokenService;
  let work: string;

  const mint = (audience: string, ownerId = '65') =>
    issuer.mint(githubActionsClaims({ repository_owner_id: ownerId }), { audience, subject: 'repo:octo-org/app:ref:refs/heads/main' });

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'portcullis-e2e-ci-'));
    issuer = await TestIssuer.start();
    broker = await startBroker({
      issuers: [{ id: 'ci', issuer: issuer.issuer, audiences: [AUD], maxTokenAge: 600 }],
      policy: {
        version: 1,
        rules: [
          {
            id: 'octo-org',
            effect: 'allow',
            issuer: issuer.issuer,
            when: { repository_owner_id: '65' },
            grants: [{ repository: 'octo-org/**', actions: ['pull', 'push'] }],
          },
        ],
      },
      services: [SERVICE],
    });
    registry = await startRegistryFor(broker, SERVICE);
    image = await buildOciImage(path.join(work, 'image'), { tag: 'v1' });
    tokens = await IdTokenService.start((audience) => mint(audience));
  });

  afterAll(async () => {
    await tokens?.close();
    await registry?.stop();
    await broker?.stop();
    await issuer?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** After a login, the stored credentials push with podman and read with skopeo. */
  async function pushWithStoredLogin(engine: ContainerEngine, repo: string): Promise<void> {
    assertEngineOk(engine, await engine.importImage(image.ref, `localhost/ci/${repo}:v1`), 'import');
    const pushed = assertEngineOk(engine, await engine.push(`localhost/ci/${repo}:v1`, registry.host, `octo-org/${repo}`, 'v1'), 'push');
    const viaSkopeo = await skopeo(['inspect', '--tls-verify=false', '--format', '{{.Digest}}', dockerRef(registry.host, `octo-org/${repo}`, 'v1')], {
      authFile: engine.authFile,
    });
    expect(viaSkopeo.stdout.trim(), viaSkopeo.stderr).toBe(pushed.digest);
  }

  describe('GitHub Action (deploy/github-action)', () => {
    const actionDir = path.join(ROOT, 'deploy/github-action');

    async function runAction(engine: ContainerEngine, inputs: Record<string, string>, env: Record<string, string> = {}): Promise<RunResult & { output: string }> {
      const action = parseYaml(await readFile(path.join(actionDir, 'action.yml'), 'utf8')) as Rec;
      const runs = action.runs as { using: string; steps: Rec[] };
      expect(runs.using).toBe('composite');
      const step = runs.steps[0] as Rec;
      expect(step.shell).toBe('bash');
      const outputFile = path.join(engine.dir, 'github-output');
      const result = await runProcess('bash', ['-e', '-c', String(step.run)], {
        cwd: engine.dir,
        timeoutMs: 60_000,
        env: {
          ...engine.environment(),
          GITHUB_ACTION_PATH: actionDir,
          GITHUB_OUTPUT: outputFile,
          ACTIONS_ID_TOKEN_REQUEST_URL: tokens.url,
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
          ...stepEnv(action, step, inputs),
          ...env,
        },
      });
      return { ...result, output: await readFile(outputFile, 'utf8').catch(() => '') };
    }

    it('requests the ID token for the audience, logs podman, buildah and skopeo in, and the login pushes', async () => {
      const engine = await ContainerEngine.create('podman');
      try {
        const before = tokens.requests.length;
        const result = await runAction(engine, { registry: registry.host, audience: AUD, clients: 'podman buildah skopeo', 'tls-verify': 'false' });
        expect(result.code, result.stderr).toBe(0);
        for (const c of ['podman', 'buildah', 'skopeo']) expect(result.stdout).toContain(`portcullis: ${c} logged in to ${registry.host}`);
        expect(result.output).toBe('clients=podman buildah skopeo\n');
        expect(tokens.requests.slice(before)).toEqual([{ audience: AUD, authorization: `bearer ${REQUEST_TOKEN}` }]);
        // The token is masked before anything else could print it, and printed nowhere else.
        const mask = /^::add-mask::(\S+)$/m.exec(result.stdout);
        expect(mask?.[1]).toMatch(/^eyJ/);
        expect(result.stdout.split(mask?.[1] as string)).toHaveLength(2);
        expect(result.stderr).not.toContain(mask?.[1] as string);
        await pushWithStoredLogin(engine, 'github');
      } finally {
        await engine.close();
      }
    });

    it('"auto" logs in every client found on PATH, docker included', async () => {
      const engine = await ContainerEngine.create('buildah');
      try {
        // A PATH holding exactly the tools the script uses, podman, buildah, and a
        // stand-in docker (no engine can run here) that records how it was called.
        const bin = path.join(engine.dir, 'bin');
        await mkdir(bin);
        for (const tool of ['bash', 'curl', 'sed', 'tr', 'podman', 'buildah']) {
          const target = findBinary(tool);
          if (target === undefined) throw new Error(`${tool} not found`);
          await symlink(target, path.join(bin, tool));
        }
        const record = path.join(engine.dir, 'docker-call');
        const cat = findBinary('cat') ?? '/bin/cat';
        await writeFile(path.join(bin, 'docker'), `#!/bin/sh\nprintf '%s\\n' "$*" > '${record}'\n${cat} >> '${record}'\n`, { mode: 0o755 });
        const result = await runAction(engine, { registry: registry.host, audience: AUD, 'tls-verify': 'false' }, { PATH: bin });
        expect(result.code, result.stderr).toBe(0);
        expect(result.output).toBe('clients=docker podman buildah\n');
        const [args, stdin] = (await readFile(record, 'utf8')).split('\n');
        expect(args).toBe(`login --username oidc --password-stdin ${registry.host}`);
        expect(stdin).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
        expect(JSON.stringify(JSON.parse(await readFile(engine.authFile, 'utf8')))).toContain(registry.host);
      } finally {
        await engine.close();
      }
    });

    it('fails the step, naming the cause, when the broker refuses the audience or the job has no id-token permission', async () => {
      const engine = await ContainerEngine.create('podman');
      try {
        const wrong = await runAction(engine, { registry: registry.host, audience: 'https://github.com/other-org', clients: 'podman', 'tls-verify': 'false' });
        expect(wrong.code).not.toBe(0);
        expect(wrong.stderr).toMatch(/::error title=portcullis login::podman login to .* was refused/);
        expect(JSON.parse(await readFile(engine.authFile, 'utf8'))).toEqual({});

        const noPermission = await runAction(engine, { registry: registry.host, audience: AUD }, { ACTIONS_ID_TOKEN_REQUEST_URL: '' });
        expect(noPermission.code).not.toBe(0);
        expect(noPermission.stderr).toContain("permissions: id-token: write");

        const badRequestToken = await runAction(engine, { registry: registry.host, audience: AUD }, { ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'wrong' });
        expect(badRequestToken.code).not.toBe(0);
        expect(badRequestToken.stderr).toContain("ID token service refused the request");
      } finally {
        await engine.close();
      }
    });
  });

  describe('GitLab CI template (deploy/gitlab)', () => {
    async function runTemplate(engine: ContainerEngine, inputs: Record<string, string>, idToken: (aud: string) => Promise<string>): Promise<RunResult> {
      const [specDoc, jobsDoc] = parseAllDocuments(await readFile(path.join(ROOT, 'deploy/gitlab/portcullis-login.yml'), 'utf8')).map((d) => d.toJS() as Rec);
      const spec = (specDoc?.spec as Rec).inputs as Record<string, { default?: string }>;
      for (const name of Object.keys(inputs)) if (!(name in spec)) throw new Error(`template has no input ${name}`);
      // GitLab fills $[[ inputs.x ]] when it includes the file.
      const fill = (v: string): string =>
        v.replace(/\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]/g, (_m, name: string) => {
          const value = inputs[name] ?? spec[name]?.default;
          if (value === undefined) throw new Error(`input ${name} is required`);
          return value;
        });
      const job = jobsDoc?.['.portcullis-login'] as Rec;
      const aud = fill(String(((job.id_tokens as Rec).PORTCULLIS_ID_TOKEN as Rec).aud));
      const variables = Object.fromEntries(Object.entries(job.variables as Record<string, string>).map(([k, v]) => [k, fill(v)]));
      // GitLab runs the script lines in the job shell with errexit; dash stands in for an image without bash.
      return runProcess('sh', ['-e', '-c', (job.before_script as string[]).join('\n')], {
        cwd: engine.dir,
        timeoutMs: 60_000,
        env: { ...engine.environment(), ...variables, PORTCULLIS_ID_TOKEN: await idToken(aud) },
      });
    }

    it('logs podman and buildah in with the id_tokens token, and the login pushes', async () => {
      const engine = await ContainerEngine.create('podman');
      try {
        const result = await runTemplate(engine, { registry: registry.host, audience: AUD, 'tls-verify': 'false' }, (aud) => mint(aud));
        expect(result.code, result.stderr).toBe(0);
        expect(result.stdout).toContain(`portcullis: podman logged in to ${registry.host}`);
        expect(result.stdout).toContain(`portcullis: buildah logged in to ${registry.host}`);
        await pushWithStoredLogin(engine, 'gitlab');
      } finally {
        await engine.close();
      }
    });

    it('fails the job when the broker refuses the token', async () => {
      const engine = await ContainerEngine.create('podman');
      try {
        const refused = await runTemplate(engine, { registry: registry.host, audience: 'https://gitlab.example.com', 'tls-verify': 'false', clients: 'podman' }, (aud) =>
          mint(aud),
        );
        expect(refused.code).not.toBe(0);
        expect(refused.stderr).toMatch(/podman login to .* was refused/);
        const owner = await runTemplate(engine, { registry: registry.host, audience: AUD, 'tls-verify': 'false', clients: 'skopeo' }, (aud) => mint(aud, '999'));
        // Any valid identity may log in (the registry asks for no scope at login); pushing is what the policy refuses.
        expect(owner.code, owner.stderr).toBe(0);
        await expect(inspectDigest(dockerRef(registry.host, 'octo-org/gitlab', 'v1'), undefined, { authFile: engine.authFile })).rejects.toThrow(
          /unauthorized|denied|authentication required/i,
        );
      } finally {
        await engine.close();
      }
    });
  });
});
