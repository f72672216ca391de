import { sha256Base64url } from '../lib/index.js';

/** base64url SHA-256: how secrets and identities become store keys (the store never holds a secret in clear). */
export const sha256 = sha256Base64url;
