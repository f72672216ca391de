import { readFileSync } from 'node:fs';

/**
 * A very small logic-less template language for the sign-in pages, so the HTML
 * lives in files under pages/ and every value is escaped by default:
 *   {{name}}            escaped value
 *   {{#name}}…{{/name}}  section: repeated for each item of a list, shown once for true
 *   {{^name}}…{{/name}}  shown when the value is false, absent or an empty list
 *   {{> body}}          the page body, inside the layout (already rendered)
 * Inside a list section, names refer to the item's fields first, then the outer values.
 */
export type TemplateValue = string | number | boolean | undefined | readonly TemplateScope[];
export interface TemplateScope {
  readonly [name: string]: TemplateValue;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;', '=': '&#61;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`=]/g, (c) => ESCAPES[c] as string);
}

const SECTION_RE = /\{\{([#^])([a-zA-Z][\w]*)\}\}([\s\S]*?)\{\{\/\2\}\}/g;
const VALUE_RE = /\{\{([a-zA-Z][\w]*)\}\}/g;

function lookup(scopes: readonly TemplateScope[], name: string): TemplateValue {
  for (const scope of scopes) if (Object.hasOwn(scope, name)) return scope[name];
  return undefined;
}

function renderIn(template: string, scopes: readonly TemplateScope[]): string {
  const withSections = template.replace(SECTION_RE, (_m, kind: string, name: string, inner: string) => {
    const value = lookup(scopes, name);
    const empty = value === undefined || value === false || value === '' || (Array.isArray(value) && value.length === 0);
    if (kind === '^') return empty ? renderIn(inner, scopes) : '';
    if (empty) return '';
    if (Array.isArray(value)) return (value as readonly TemplateScope[]).map((item) => renderIn(inner, [item, ...scopes])).join('');
    return renderIn(inner, scopes);
  });
  return withSections.replace(VALUE_RE, (_m, name: string) => {
    const value = lookup(scopes, name);
    if (value === undefined || value === false) return '';
    if (Array.isArray(value)) throw new Error(`template value ${name} is a list; use a section`);
    return escapeHtml(String(value));
  });
}

export function renderTemplate(template: string, values: TemplateScope): string {
  return renderIn(template, [values]);
}

/** Page templates read once from src/login/pages (dist/login/pages after the build). */
export class PageTemplates {
  private readonly cache = new Map<string, string>();
  constructor(private readonly dir: URL = new URL('./pages/', import.meta.url)) {}

  file(name: string): string {
    let text = this.cache.get(name);
    if (text === undefined) {
      text = readFileSync(new URL(name, this.dir), 'utf8');
      this.cache.set(name, text);
    }
    return text;
  }

  /** `page` rendered with `values`, inside layout.html. */
  render(page: string, values: TemplateScope & { title: string; brokerName: string }): string {
    const body = renderTemplate(this.file(`${page}.html`), values);
    // The layout first, the body last: text inside values is never read as template syntax.
    return renderTemplate(this.file('layout.html'), values).replace('{{> body}}', () => body);
  }
}
