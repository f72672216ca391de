export {
  configSchema,
  secretRef,
  type Config,
  type ConfigInput,
  type IssuerEntry,
  type SecretRef,
  type SessionsConfig,
  type SigningKeyEntry,
  type StoreConfig,
} from './schema.js';
export { CONFIG_ENV, ConfigError, formatIssues, loadConfig, parseConfig, readSecret, type LoadedConfig } from './load.js';
export { configJsonSchema } from './json-schema.js';
