import { z } from 'zod';
import { configSchema } from './schema.js';

/** The configuration file's JSON Schema (editors, Helm's values.schema.json), from the zod schema `config check` uses. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }),
    $id: 'https://portcullis.dev/schema/config.schema.json',
    title: 'Portcullis configuration',
    description: 'The broker configuration file. See docs/configuration.md.',
  };
}
