import { fileURLToPath } from 'node:url';

/** The policy the server loads when none is configured; the build copies the YAML beside this module. */
export const EXAMPLE_POLICY = fileURLToPath(new URL('./example-policy.yaml', import.meta.url));
