/** The Koa app: thin adapters from HTTP to the services; statuses decided in errors.ts. */
export { createHttpHandler, createOperatorApp, type HttpHandler, type AppDeps, type OperatorDeps, type DevIssuerRoutes, type ReadinessReport } from './app.js';
export { answerClientError } from './client-error.js';
export { clientIpResolver, type TrustedProxies } from './client-ip.js';
