/** People sign in: browser sign-in at the company's provider, loopback hand-off, device grant, result page. */
export { LoginService, DEVICE_GRANT, type LoginServiceDeps, type CallbackOutcome, type ResultView, type SessionRow } from './service.js';
export { LoginViews } from './views.js';
export { LoginError, type LoginErrorCode } from './errors.js';
export { ProviderClient, ProviderError } from './provider-client.js';
export { summarizeGrants, describeGrants, type GrantSummary } from './grants.js';
export { newUserCode, normalizeUserCode, USER_CODE_ALPHABET } from './user-code.js';
export { checkLoopbackRedirect, verifierMatches } from './handoff.js';
export { escapeHtml, renderTemplate } from './templates.js';
export type { LoginSettings, PeopleProvider, DeviceSettings, LoginTokenBody } from './types.js';
