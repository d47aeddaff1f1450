/**
 * Keeps the docs generated from their sources, so no recipe shows hand-copied code:
 *
 * - Snippets: a Markdown block between `<!-- include: path#region -->` and `<!-- /include -->` is
 *   the `// #region name` … `// #endregion name` part of that file (or the whole file without `#`).
 *   Config files (nginx, Apache, HAProxy, Caddy) mark regions with `# #region name` … `# #endregion name`.
 *   Marker lines of other regions nested inside are left out; the code fence gets the file's language.
 * - docs/errors.md: the failure catalog table, from `@wsgate/core`'s `catalog` export.
 * - packages/doctor/README.md: the list between `<!-- causes -->` and `<!-- /causes -->`, from
 *   `@wsgate/doctor`'s `causes` export, with the exit code of each stage.
 *
 * `tsx scripts/docs.ts` rewrites the docs; `scripts/docs.test.ts` fails when they are stale.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { catalog, catalogCodes } from '../packages/core/src/index.js';
import { causeCodes, causes, EXIT_CODES } from '../packages/doctor/src/index.js';

export const root = new URL('..', import.meta.url).pathname;

const INCLUDE = /(<!-- include: ([^#\s]+)(?:#([\w-]+))? -->\n)[\s\S]*?(<!-- \/include -->)/g;

/** A `#region`/`#endregion` marker line, in `//` (TypeScript) or `#` (config files) comment style. */
const MARKER = /^(?:\/\/|#) #(region|endregion) ([\w-]+)$/;

function isMarker(line: string, kind?: 'region' | 'endregion', name?: string): boolean {
  const match = MARKER.exec(line.trim());
  return (
    match !== null && (kind === undefined || match[1] === kind) && (name === undefined || match[2] === name)
  );
}

function region(file: string, name: string | undefined): string {
  const text = readFileSync(join(root, file), 'utf8');
  if (!name)
    return text
      .trimEnd()
      .split('\n')
      .filter((line) => !isMarker(line))
      .join('\n');
  const lines = text.split('\n');
  const start = lines.findIndex((line) => isMarker(line, 'region', name));
  const end = lines.findIndex((line) => isMarker(line, 'endregion', name));
  if (start === -1 || end <= start) throw new Error(`${file} has no region "${name}"`);
  const body = lines.slice(start + 1, end).filter((line) => !isMarker(line));
  const indent = Math.min(...body.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return body.map((l) => l.slice(indent)).join('\n');
}

/** The code-fence language for a file: by extension, or by name for config files. */
export function fenceLanguage(file: string): string {
  const name = file.split('/').pop() ?? file;
  if (name === 'Caddyfile' || name.startsWith('Caddyfile.')) return 'caddyfile';
  if (/^nginx.*\.conf$/.test(name)) return 'nginx';
  if (/^(apache|httpd).*\.conf$/.test(name)) return 'apache';
  if (/^haproxy.*\.cfg$/.test(name)) return 'haproxy';
  const extension = name.includes('.') ? (name.split('.').pop() ?? '') : '';
  const languages: Record<string, string> = {
    ts: 'ts',
    mts: 'ts',
    cts: 'ts',
    mjs: 'js',
    cjs: 'js',
    yml: 'yaml',
    cnf: 'ini',
  };
  return languages[extension] ?? extension;
}

/** The Markdown with every include block refreshed from its source. */
export function renderIncludes(markdown: string): string {
  return markdown.replace(
    INCLUDE,
    (_all, open: string, file: string, name: string | undefined, close: string) => {
      return `${open}\`\`\`${fenceLanguage(file)}\n${region(file, name)}\n\`\`\`\n${close}`;
    },
  );
}

/** docs/errors.md, generated from the catalog. */
export function renderErrors(): string {
  const rows = catalogCodes.map((code) => {
    const entry = catalog[code];
    const headers = Object.entries(entry.headers)
      .map(([name, value]) => `\`${name}: ${value}\``)
      .join(', ');
    const status = 'statusRange' in entry ? entry.statusRange : entry.status;
    return `| \`${code}\` | ${status} | ${entry.title} | ${headers || '—'} | ${entry.fault} | ${entry.reference} |`;
  });
  return [
    '# Error codes',
    '',
    '<!-- Generated from @wsgate/core `catalog` by `pnpm docs`; do not edit by hand. -->',
    '',
    'Every rejection carries one of these codes in its body (`code`) and in the log record. Checks run',
    'in this order; the first failing one decides. Mandatory headers are sent with the values shown',
    'unless the application gave its own. A response the application writes to a handshake itself',
    '(auth middleware, a rate limiter, a redirect) is sent as written and logged with the code of its',
    'status; a status range (`3xx`) marks such a code.',
    '',
    '| code | status | title | mandatory headers | fault | reference |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

const CAUSES = /(<!-- causes -->\n)[\s\S]*?(<!-- \/causes -->)/;

/** The doctor README's list of causes, from the `causes` catalog. */
export function renderCauses(markdown: string): string {
  // A list, not a table: the formatter would re-align a table and the check would see it as stale.
  const items = causeCodes.map((code) => {
    const cause = causes[code];
    return `- \`${code}\` (${cause.stage}, exit ${EXIT_CODES[cause.stage]}): ${cause.meaning} **Fix:** ${cause.fix}`;
  });
  return markdown.replace(
    CAUSES,
    (_all, open: string, close: string) => `${open}\n${items.join('\n')}\n\n${close}`,
  );
}

/** Every Markdown file the generator owns, with its expected content. */
export function expectedDocs(): Map<string, string> {
  const docs = new Map<string, string>();
  const packageReadmes = readdirSync(join(root, 'packages'))
    .map((name) => `packages/${name}/README.md`)
    .filter((file) => existsSync(join(root, file)));
  const markdown = ['README.md', ...packageReadmes, ...listMarkdown('docs')];
  for (const file of markdown) {
    if (file === 'docs/errors.md') continue;
    docs.set(file, renderIncludes(readFileSync(join(root, file), 'utf8')));
  }
  docs.set('docs/errors.md', renderErrors());
  const doctorReadme = 'packages/doctor/README.md';
  docs.set(doctorReadme, renderCauses(renderIncludes(readFileSync(join(root, doctorReadme), 'utf8'))));
  return docs;
}

function listMarkdown(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  for (const [file, content] of expectedDocs()) writeFileSync(join(root, file), content);
  process.stdout.write('docs regenerated\n');
}
