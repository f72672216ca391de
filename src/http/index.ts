/** The Koa app: thin adapters from HTTP to the services; statuses decided in errors.ts. */
export { createApp, type AppDeps, type DevIssuerRoutes, type ReadinessReport } from './app.js';
