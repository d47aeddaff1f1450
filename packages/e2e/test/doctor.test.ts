/**
 * @wsgate/doctor against real nginx and Apache httpd in front of the Express reference app: the
 * WebSocket-ready configs pass every stage; the broken ones get wsgate's 426, read back by the
 * doctor; nginx's own 502 page (app stopped) is named; the 1 s read timeouts are found by --idle;
 * nginx terminating TLS with the leaf alone is an incomplete chain, and ws:// to its TLS port is
 * recognised from nginx's own 400 page. The CLI is run as a user runs it and checked through --json and its exit code.
 */
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { frameworks, type RunningApp, root, startApp } from '../src/apps.js';
import { describeWith } from '../src/binaries.js';
import { tempDir } from '../src/peer.js';
import { createPki, type TestPki } from '../src/pki.js';
import { type RunningProxy, startApache, startCaddy, startHaproxy, startNginx } from '../src/proxies.js';

interface DoctorRun {
  readonly code: number;
  readonly report: Record<string, unknown> & { stages: Array<Record<string, unknown>> };
}

/** `wsgate-doctor ...args --json`, through tsx so the source is tested. */
function doctor(...args: string[]): Promise<DoctorRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        '--conditions=@wsgate/source',
        '--import',
        'tsx',
        `${root}packages/doctor/src/bin.ts`,
        ...args,
        '--json',
      ],
      { cwd: `${root}packages/doctor`, timeout: 60_000 },
      (error, stdout) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, report: JSON.parse(stdout) as DoctorRun['report'] });
      },
    );
  });
}

const express = frameworks().find((framework) => framework.name === 'express');

describeWith(['nginx'], '@wsgate/doctor through real nginx', ({ nginx }) => {
  let app: RunningApp;
  let stopped: RunningApp;
  let proxy: RunningProxy;

  beforeAll(async () => {
    if (!express) throw new Error('examples/express is missing');
    app = await startApp(express);
    // A second app, stopped at once: nginx in front of it has no upstream and answers 502 itself.
    stopped = await startApp(express);
    await stopped.close();
    proxy = await startNginx(nginx, [
      { config: 'nginx-websocket.conf', values: { BACKEND: app.address } },
      { config: 'nginx-http11-only.conf', values: { BACKEND: app.address } },
      { config: 'nginx-short-timeout.conf', values: { BACKEND: app.address } },
      { config: 'nginx-default.conf', values: { BACKEND: stopped.address } },
    ]);
  });
  afterAll(async () => {
    await proxy?.stop();
    await app?.close();
  });

  const url = (config: string, path: string) => `ws://127.0.0.1:${proxy.port(config)}${path}`;

  it('the WebSocket-ready config: every stage passes, exit 0', async () => {
    const { code, report } = await doctor(url('nginx-websocket.conf', '/echo'));
    expect(report.ok, JSON.stringify(report)).toBe(true);
    expect(code).toBe(0);
  });

  it("only proxy_http_version 1.1: the doctor reads wsgate's UPGRADE_HEADERS_STRIPPED and its nginx hint", async () => {
    const { code, report } = await doctor(url('nginx-http11-only.conf', '/echo'));
    expect(report, JSON.stringify(report)).toMatchObject({ stage: 'http', cause: 'http-wsgate-rejection' });
    expect(code).toBe(7);
    const http = report.stages.find((stage) => stage.name === 'http')?.evidence as Record<string, unknown>;
    expect(http.wsgate).toMatchObject({ code: 'UPGRADE_HEADERS_STRIPPED' });
    expect(report.fix).toContain('proxy_set_header Upgrade $http_upgrade;');
  });

  it("the app is down: nginx's own 502 page → http-proxy-error naming nginx", async () => {
    const { code, report } = await doctor(url('nginx-default.conf', '/echo'));
    expect(report, JSON.stringify(report)).toMatchObject({ stage: 'http', cause: 'http-proxy-error' });
    expect(code).toBe(7);
    const http = report.stages.find((stage) => stage.name === 'http')?.evidence as Record<string, unknown>;
    expect(http.server).toMatchObject({ product: 'nginx' });
  });

  it('proxy_read_timeout 1s: --idle finds the connection closed while idle', async () => {
    const { code, report } = await doctor(url('nginx-short-timeout.conf', '/echo'), '--idle', '5');
    expect(report, JSON.stringify(report)).toMatchObject({ stage: 'open', cause: 'open-idle-closed' });
    expect(code).toBe(9);
  });
});

describeWith(['apache'], '@wsgate/doctor through real Apache httpd', ({ apache }) => {
  let app: RunningApp;
  let proxy: RunningProxy;

  beforeAll(async () => {
    if (!express) throw new Error('examples/express is missing');
    app = await startApp(express);
    const values = { BACKEND: app.address };
    proxy = await startApache(apache, [
      { config: 'apache-upgrade.conf', values },
      { config: 'apache-plain.conf', values },
      { config: 'apache-short-timeout.conf', values },
    ]);
  });
  afterAll(async () => {
    await proxy?.stop();
    await app?.close();
  });

  const url = (config: string, path: string) => `ws://127.0.0.1:${proxy.port(config)}${path}`;

  it('ProxyPass … upgrade=websocket: every stage passes', async () => {
    const { code, report } = await doctor(url('apache-upgrade.conf', '/echo'));
    expect(report.ok, JSON.stringify(report)).toBe(true);
    expect(code).toBe(0);
  });

  it('mod_proxy_http without WebSocket: wsgate names Apache in the 426 the doctor reads', async () => {
    const { code, report } = await doctor(url('apache-plain.conf', '/echo'));
    expect(report, JSON.stringify(report)).toMatchObject({ stage: 'http', cause: 'http-wsgate-rejection' });
    expect(code).toBe(7);
    const http = report.stages.find((stage) => stage.name === 'http')?.evidence as Record<string, unknown>;
    expect(http.wsgate).toMatchObject({ code: 'UPGRADE_HEADERS_STRIPPED' });
    expect(report.fix).toContain('upgrade=websocket');
  });

  it('Timeout 1: --idle finds the connection closed while idle', async () => {
    const { code, report } = await doctor(url('apache-short-timeout.conf', '/echo'), '--idle', '5');
    expect(report, JSON.stringify(report)).toMatchObject({ stage: 'open', cause: 'open-idle-closed' });
    expect(code).toBe(9);
  });
});

describeWith(
  ['nginx', 'openssl'],
  '@wsgate/doctor against wss:// terminated at real nginx',
  ({ nginx, openssl }) => {
    let pki: TestPki;
    let certs: string;
    let app: RunningApp;
    const proxies: Record<'full' | 'leaf', RunningProxy | undefined> = { full: undefined, leaf: undefined };

    beforeAll(async () => {
      if (!express) throw new Error('examples/express is missing');
      pki = createPki(openssl);
      certs = tempDir('doctor-certs');
      writeFileSync(join(certs, 'fullchain.pem'), pki.fullChain);
      writeFileSync(join(certs, 'leaf.pem'), pki.leafCert);
      writeFileSync(join(certs, 'root.pem'), pki.rootCert);
      writeFileSync(join(certs, 'leaf.key'), pki.leafKey, { mode: 0o600 });
      app = await startApp(express);
      for (const [name, cert] of [
        ['full', 'fullchain.pem'],
        ['leaf', 'leaf.pem'],
      ] as const) {
        proxies[name] = await startNginx(nginx, [
          {
            config: 'nginx-tls.conf',
            values: { BACKEND: app.address, CERT: join(certs, cert), KEY: join(certs, 'leaf.key') },
          },
        ]);
      }
    });
    afterAll(async () => {
      await proxies.full?.stop();
      await proxies.leaf?.stop();
      await app?.close();
      if (certs) rmSync(certs, { recursive: true, force: true });
    });

    const port = (name: 'full' | 'leaf') => proxies[name]?.port('nginx-tls.conf');

    it('the full chain, the root given with --ca: every stage passes', async () => {
      const { code, report } = await doctor(
        `wss://localhost:${port('full')}/echo`,
        '--ca',
        join(certs, 'root.pem'),
      );
      expect(report.ok, JSON.stringify(report)).toBe(true);
      expect(code).toBe(0);
    });

    it('ssl_certificate with the leaf alone: tls-incomplete-chain', async () => {
      const { code, report } = await doctor(
        `wss://localhost:${port('leaf')}/echo`,
        '--ca',
        join(certs, 'root.pem'),
      );
      expect(report, JSON.stringify(report)).toMatchObject({ stage: 'tls', cause: 'tls-incomplete-chain' });
      expect(code).toBe(6);
    });

    it("ws:// to nginx's TLS port: url-ws-to-tls-port, from nginx's own 400 page", async () => {
      const { code, report } = await doctor(`ws://localhost:${port('full')}/echo`);
      expect(report, JSON.stringify(report)).toMatchObject({ stage: 'url', cause: 'url-ws-to-tls-port' });
      expect(code).toBe(3);
    });
  },
);

describeWith(
  ['haproxy', 'caddy'],
  "@wsgate/doctor and HAProxy's and Caddy's own error pages",
  ({ haproxy, caddy }) => {
    // The app behind both proxies is stopped at once: each proxy answers the handshake itself.
    let stopped: RunningApp;
    const proxies: RunningProxy[] = [];
    beforeAll(async () => {
      if (!express) throw new Error('examples/express is missing');
      stopped = await startApp(express);
      await stopped.close();
      proxies.push(await startHaproxy(haproxy, { BACKEND: stopped.address }));
      proxies.push(await startCaddy(caddy, { BACKEND: stopped.address }));
    });
    afterAll(async () => {
      for (const proxy of proxies) await proxy.stop();
    });

    it.each([
      ['HAProxy', 0, 'haproxy.cfg', 'haproxy'],
      ['Caddy', 1, 'Caddyfile', 'caddy'],
    ] as const)(
      '%s with no live backend: http-proxy-error naming it',
      async (_name, index, config, product) => {
        const proxy = proxies[index] as RunningProxy;
        const { code, report } = await doctor(`ws://127.0.0.1:${proxy.port(config)}/echo`);
        expect(report, JSON.stringify(report)).toMatchObject({ stage: 'http', cause: 'http-proxy-error' });
        expect(code).toBe(7);
        const http = report.stages.find((stage) => stage.name === 'http')?.evidence as Record<
          string,
          unknown
        >;
        expect(http.server).toMatchObject({ product });
      },
    );
  },
);
