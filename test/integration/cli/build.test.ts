import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../../helpers/processes.js';
import { ROOT } from '../../helpers/cli.js';

// The preset YAML files and the example policy live beside the code that reads them;
// `npm run build` must carry them into dist/, or `npm start` and the image break.
const DIST_MAIN = path.join(ROOT, 'dist/cli/main.js');

let cwd: string;
beforeAll(async () => {
  cwd = await mkdtemp(path.join(tmpdir(), 'portcullis-build-'));
  const build = await runProcess('npm', ['run', 'build'], { cwd: ROOT, timeoutMs: 180_000 });
  expect(build.code, build.stderr).toBe(0);
}, 200_000);
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('npm run build', () => {
  it('ships the provider presets and the example policy next to the compiled code', () => {
    for (const file of ['policy/providers/presets/github-actions.yaml', 'policy/providers/presets/gitlab.yaml', 'dev/example-policy.yaml']) {
      expect(existsSync(path.join(ROOT, 'dist', file)), file).toBe(true);
    }
    expect(existsSync(path.join(ROOT, 'dist/policy/engine/compile.ts'))).toBe(false);
  });

  it('the built CLI loads the embedded defaults (example policy) and compiles a preset-based policy', async () => {
    const lint = await runProcess(process.execPath, [DIST_MAIN, 'policy', 'lint', path.join(ROOT, 'test/unit/policy/fixtures/github.policy.yaml')], { cwd });
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
    expect(lint.stdout).toContain('0 error(s)');
    const env: NodeJS.ProcessEnv = { ...process.env, PORTCULLIS_DATA_DIR: path.join(cwd, 'data') };
    delete env.PORTCULLIS_CONFIG;
    const check = await runProcess(process.execPath, [DIST_MAIN, 'config', 'check'], { cwd, env });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/example-policy\.yaml/);
  });
});
