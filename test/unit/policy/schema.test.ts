import { describe, expect, it } from 'vitest';

// Each test starts the CLI as a child process (tsx transpiles on the fly): slow on a loaded machine.
const CLI_TIMEOUT = 60_000;
import { z } from 'zod';
import { PolicyDocument } from '../../../src/policy/engine/document.js';
import { configSchema } from '../../../src/config/index.js';
import { runCli } from '../../helpers/cli.js';

describe('portcullis policy schema / config schema', () => {
  it('policy schema prints the JSON Schema generated from the zod schema the loader uses', async () => {
    const { code, stdout } = await runCli(['policy', 'schema']);
    expect(code).toBe(0);
    const printed = JSON.parse(stdout) as Record<string, unknown>;
    const fresh = z.toJSONSchema(PolicyDocument, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
    const { $id, title: _title, description: _description, ...rest } = printed;
    expect($id).toBe('https://portcullis.dev/schema/policy.schema.json');
    expect(rest).toEqual(fresh);
  }, CLI_TIMEOUT);

  it('config schema prints the configuration JSON Schema with every top-level section', async () => {
    const { code, stdout } = await runCli(['config', 'schema']);
    expect(code).toBe(0);
    const printed = JSON.parse(stdout) as { properties: Record<string, unknown> };
    expect(Object.keys(printed.properties).sort()).toEqual(Object.keys(configSchema.shape).sort());
  }, CLI_TIMEOUT);
});
