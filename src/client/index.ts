export { ClientError } from './errors.js';
export { CLIENT_TOOLS, parseTools, type ClientTool } from './configure.js';
export { login, logout, type LoginOptions, type LoginResult, type LogoutOptions } from './login.js';
export { runCredentialHelper, NOT_FOUND, type HelperResult } from './credential-helper.js';
export { LoginStore, type Login } from './logins.js';
export { configDir, loginsFile, helperConfigFile, dockerConfigFile, containersAuthFile, type Env } from './paths.js';
