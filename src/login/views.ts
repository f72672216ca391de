import type { BrowserSession } from '../sessions/index.js';
import { describeGrants, type GrantSummary } from './grants.js';
import type { ResultView, SessionRow } from './service.js';
import { PageTemplates, type TemplateScope } from './templates.js';
import type { DeviceRecord, LoginSettings } from './types.js';

/** Dates on the pages: UTC, unambiguous, no JavaScript needed to localise them. */
function when(ms: number, zone = true): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')}${zone ? ' UTC' : ''}`;
}

function grantsScope(g: GrantSummary): TemplateScope {
  return {
    grantsSentence: describeGrants(g),
    byAction: g.byAction.map((a) => ({ action: a.action, patterns: a.patterns.map((p) => ({ pattern: p })) })),
  };
}

/** The sign-in pages as HTML strings, from the templates under pages/. */
export class LoginViews {
  private readonly templates = new PageTemplates();
  constructor(private readonly settings: LoginSettings) {}

  /** The stylesheet, served at /login/assets/style.css. */
  css(): string {
    return this.templates.file('style.css');
  }

  private page(name: string, title: string, values: TemplateScope, session?: BrowserSession | null): string {
    return this.templates.render(name, {
      ...values,
      title,
      brokerName: this.settings.brokerName,
      ...(session ? { signedInAs: session.name } : {}),
    });
  }

  error(heading: string, message: string, options: { hint?: string; retry?: boolean } = {}): string {
    return this.page('error', heading, { heading, message, ...(options.hint ? { hint: options.hint } : {}), retry: options.retry ?? false });
  }

  signedOut(): string {
    return this.page('signed-out', 'Signed out', {});
  }

  choose(providers: readonly { id: string; name: string; href: string }[]): string {
    return this.page('choose', 'Sign in', { providers: providers.map((p) => ({ name: p.name, href: p.href })) });
  }

  result(v: ResultView): string {
    return this.page(
      'result',
      'Signed in',
      {
        name: v.session.name,
        subject: v.session.subject,
        providerName: v.providerName,
        ...(v.email !== undefined ? { email: v.email } : {}),
        ...(v.groups.length ? { groups: v.groups.join(', ') } : {}),
        service: v.service,
        code: v.code,
        codeMinutes: Math.round(v.codeLifetimeSec / 60),
        sessionHours: Math.round((v.sessionLifetimeSec / 3600) * 10) / 10,
        registry: v.registry,
        csrf: v.session.csrf,
        ...grantsScope(v.grants),
      },
      v.session,
    );
  }

  deviceEntry(session: BrowserSession, options: { userCode?: string; error?: string } = {}): string {
    return this.page('device', 'Connect a device', { csrf: session.csrf, userCode: options.userCode ?? '', ...(options.error ? { error: options.error } : {}) }, session);
  }

  deviceConfirm(session: BrowserSession, record: DeviceRecord, grants: GrantSummary): string {
    return this.page(
      'device-confirm',
      'Approve a device',
      {
        csrf: session.csrf,
        userCode: record.userCode,
        clientId: record.clientId,
        requestedFrom: record.requestedFrom,
        requestedAt: when(record.createdAt),
        requestedAtIso: new Date(record.createdAt).toISOString(),
        service: record.service,
        ...grantsScope(grants),
      },
      session,
    );
  }

  deviceDone(session: BrowserSession, approved: boolean): string {
    return this.page(
      'device-done',
      approved ? 'Device approved' : 'Device refused',
      approved
        ? { heading: 'Device approved', tone: 'ok', message: 'Your terminal is signing in now. You can close this page.' }
        : { heading: 'Device refused', tone: 'alert', message: 'The request was refused; that device gets nothing.' },
      session,
    );
  }

  sessions(session: BrowserSession, rows: readonly SessionRow[], notice?: string): string {
    return this.page(
      'sessions',
      'Your sessions',
      {
        name: session.name,
        csrf: session.csrf,
        ...(notice ? { notice } : {}),
        sessions: rows.length > 0,
        rows: rows.map((r) => ({
          id: r.id,
          device: r.device ?? (r.clientId !== undefined ? `${r.clientId} login` : `${r.origin} login`),
          service: r.service,
          created: when(Date.parse(r.createdAt), false),
          createdIso: r.createdAt,
          lastUsed: r.lastUsedAt !== undefined ? when(r.lastUsedAt, false) : 'not yet',
          expires: when(Date.parse(r.expiresAt), false),
          expiresIso: r.expiresAt,
        })),
      },
      session,
    );
  }
}
