/**
 * The four reverse proxies, each started from the template configs in packages/e2e/configs:
 * a skeleton (foreground, pid/log/temp paths in the temp directory) plus one or more site files,
 * each on its own free loopback port.
 */
import { join } from 'node:path';
import { type Peer, renderTemplate, startPeer, type TemplateValues, writeConfig } from './peer.js';
import { freePort } from './ports.js';

/** One site config to run, with its placeholder values (its `{{PORT}}` is picked here). */
export interface Site {
  readonly config: string;
  readonly values: TemplateValues;
}

/** A running proxy and the port of each of its sites, by config file name. */
export interface RunningProxy extends Peer {
  port(config: string): number;
}

const isRoot = process.getuid?.() === 0;

async function withPorts(sites: readonly Site[]): Promise<Map<string, number>> {
  const ports = new Map<string, number>();
  for (const site of sites) ports.set(site.config, await freePort());
  return ports;
}

function portOf(ports: Map<string, number>) {
  return (config: string) => {
    const port = ports.get(config);
    if (port === undefined) throw new Error(`no site ${config} in this proxy`);
    return port;
  };
}

/** nginx in the foreground (`daemon off`) with the given sites. */
export async function startNginx(binary: string, sites: readonly Site[]): Promise<RunningProxy> {
  const ports = await withPorts(sites);
  const peer = await startPeer({
    name: 'nginx',
    command: binary,
    ports: [...ports.values()],
    logs: ['error.log'],
    prepare: (dir) => {
      const includes = sites.map((site) => {
        const text = renderTemplate(site.config, { ...site.values, PORT: ports.get(site.config) ?? 0 });
        return `  include ${writeConfig(dir, site.config, text)};`;
      });
      writeConfig(
        dir,
        'nginx.conf',
        renderTemplate('nginx-main.conf', {
          DIR: dir,
          // As root, nginx's workers would switch to `nobody`; keep them the current user.
          USER: isRoot ? 'user root;' : '# workers run as the current user',
          SITES: includes.join('\n'),
        }),
      );
    },
    // -e: the error log before the config is read (nginx otherwise opens /var/log/nginx/error.log).
    args: (dir) => ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
  });
  return { ...peer, port: portOf(ports) };
}

/** Apache httpd (`apache2 -X`: one process, foreground) with the given sites. */
export async function startApache(binary: string, sites: readonly Site[]): Promise<RunningProxy> {
  const ports = await withPorts(sites);
  const peer = await startPeer({
    name: 'apache2',
    command: binary,
    ports: [...ports.values()],
    logs: ['error.log'],
    prepare: (dir) => {
      const includes = sites.map((site) => {
        const text = renderTemplate(site.config, { ...site.values, PORT: ports.get(site.config) ?? 0 });
        return `Include "${writeConfig(dir, site.config, text)}"`;
      });
      writeConfig(
        dir,
        'httpd.conf',
        renderTemplate('apache-main.conf', {
          DIR: dir,
          MODULES: '/usr/lib/apache2/modules',
          // httpd refuses to serve as root; as root it must drop to an unprivileged user.
          USER: isRoot ? 'User www-data\nGroup www-data' : '# runs as the current user',
          SITES: includes.join('\n'),
        }),
      );
    },
    args: (dir) => ['-X', '-f', join(dir, 'httpd.conf')],
  });
  return { ...peer, port: portOf(ports) };
}

/** HAProxy in the foreground (`-db`) with haproxy.cfg. */
export async function startHaproxy(binary: string, values: TemplateValues): Promise<RunningProxy> {
  const ports = await withPorts([{ config: 'haproxy.cfg', values }]);
  const peer = await startPeer({
    name: 'haproxy',
    command: binary,
    ports: [...ports.values()],
    prepare: (dir) => {
      writeConfig(
        dir,
        'haproxy.cfg',
        renderTemplate('haproxy.cfg', { ...values, PORT: ports.get('haproxy.cfg') ?? 0 }),
      );
    },
    args: (dir) => ['-db', '-f', join(dir, 'haproxy.cfg')],
  });
  return { ...peer, port: portOf(ports) };
}

/** Caddy (`caddy run`, foreground) with the Caddyfile; its data and config dirs in the temp dir. */
export async function startCaddy(binary: string, values: TemplateValues): Promise<RunningProxy> {
  const ports = await withPorts([{ config: 'Caddyfile', values }]);
  const peer = await startPeer({
    name: 'caddy',
    command: binary,
    ports: [...ports.values()],
    prepare: (d) => {
      writeConfig(
        d,
        'Caddyfile',
        renderTemplate('Caddyfile', { ...values, DIR: d, PORT: ports.get('Caddyfile') ?? 0 }),
      );
    },
    args: (d) => ['run', '--config', join(d, 'Caddyfile'), '--adapter', 'caddyfile'],
    // Caddy keeps its state (autosave.json, certificates) under these.
    env: (d) => ({ HOME: d, XDG_DATA_HOME: join(d, 'data'), XDG_CONFIG_HOME: join(d, 'config') }),
  });
  return { ...peer, port: portOf(ports) };
}
