/**
 * What each real proxy puts on the wire when it forwards a handshake, recorded byte-exact by a
 * backend that only records. These are the facts @wsgate/core's diagnosis fingerprints rest on
 * (docs/design.md, "Diagnosis"), and the conformance suite's `proxyShapes` must be these shapes.
 */
import { buildRequest, proxyShapes, type RawResponse, sendRaw } from '@wsgate/conformance';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../src/binaries.js';
import { type RunningProxy, startApache, startCaddy, startHaproxy, startNginx } from '../src/proxies.js';
import { type RecordedRequest, type Recorder, startRecorder } from '../src/recorder.js';

const CHROME = {
  Origin: 'http://localhost:5173',
  'User-Agent':
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36',
  'Accept-Encoding': 'gzip, deflate, br, zstd',
  'Sec-WebSocket-Protocol': 'chat.v2',
};

/** The recorder's answer as the client received it through the proxy. */
let lastResponse: RawResponse | undefined;

/** Sends a complete handshake through the proxy and returns what reached the backend. */
async function forward(
  recorder: Recorder,
  port: number,
  headers: Record<string, string | null> = {},
): Promise<RecordedRequest> {
  const since = recorder.requests.length;
  lastResponse = await sendRaw(
    port,
    buildRequest({ path: '/echo', host: `127.0.0.1:${port}`, headers: { ...CHROME, ...headers } }),
  );
  return recorder.next(since);
}

/** The headers of the recorder's 426 (`Upgrade: websocket`, `Connection: Upgrade, close`) after the proxy. */
function responseHeaders(): Readonly<Record<string, string>> {
  expect(lastResponse?.status).toBe(426);
  expect(lastResponse?.body).toBe('recorded');
  return lastResponse?.headers ?? {};
}

/** The parts of a request the diagnosis reads. */
function shapeOf(request: RecordedRequest) {
  return {
    version: request.httpVersion,
    upgrade: request.get('upgrade'),
    connection: request.get('connection'),
    forwarded: request.headers.some(([name]) => /^x-forwarded-/i.test(name)),
    key: request.get('sec-websocket-key') !== undefined,
    version13: request.get('sec-websocket-version'),
    protocol: request.get('sec-websocket-protocol'),
    origin: request.get('origin'),
  };
}

/** A conformance proxy shape as the same facts. */
function expectedShape(shape: { version?: string; headers: Record<string, string | null> }) {
  const upgrade = 'Upgrade' in shape.headers ? shape.headers.Upgrade : 'websocket';
  return {
    version: shape.version ?? '1.1',
    upgrade: upgrade ?? undefined,
    connection: shape.headers.Connection ?? undefined,
  };
}

let recorder: Recorder;
beforeAll(async () => {
  recorder = await startRecorder();
});
afterAll(() => recorder?.close());

describeWith(['nginx'], 'what nginx sends upstream', ({ nginx }) => {
  let proxy: RunningProxy;
  const configs = {
    websocket: 'nginx-websocket.conf',
    nginxDefault: 'nginx-default.conf',
    nginxHttp11Only: 'nginx-http11-only.conf',
    nginxNoConnectionLine: 'nginx-no-connection.conf',
    nginxNoUpgradeLine: 'nginx-no-upgrade.conf',
  } as const;
  beforeAll(async () => {
    const values = { BACKEND: `127.0.0.1:${recorder.port}` };
    proxy = await startNginx(
      nginx,
      Object.values(configs).map((config) => ({ config, values })),
    );
  });
  afterAll(() => proxy?.stop());

  it('(a) the WebSocket location forwards Upgrade and Connection: upgrade over HTTP/1.1', async () => {
    const shape = shapeOf(await forward(recorder, proxy.port(configs.websocket)));
    expect(shape).toMatchObject({
      version: '1.1',
      upgrade: 'websocket',
      connection: 'upgrade',
      forwarded: false,
    });
  });

  it.each(['nginxDefault', 'nginxHttp11Only', 'nginxNoConnectionLine', 'nginxNoUpgradeLine'] as const)(
    '%s: the conformance shape is what real nginx sends',
    async (name) => {
      const request = await forward(recorder, proxy.port(configs[name]));
      const shape = shapeOf(request);
      expect(shape, request.requestLine).toMatchObject({
        ...expectedShape(proxyShapes[name]),
        forwarded: false,
        // Everything else of the handshake still arrives: that is how a stripped handshake is told
        // from a plain GET.
        key: true,
        version13: '13',
        protocol: 'chat.v2',
        origin: 'http://localhost:5173',
      });
      // Host is nginx's default `$proxy_host`: the upstream's address.
      expect(request.get('host')).toBe(`127.0.0.1:${recorder.port}`);
      // On the way back nginx keeps the 426's Upgrade and answers with its own Connection.
      expect(responseHeaders()).toMatchObject({ upgrade: 'websocket', connection: 'keep-alive' });
    },
  );
});

describeWith(['apache'], 'what Apache httpd sends upstream', ({ apache }) => {
  let proxy: RunningProxy;
  beforeAll(async () => {
    proxy = await startApache(apache, [
      { config: 'apache-plain.conf', values: { BACKEND: `127.0.0.1:${recorder.port}` } },
    ]);
  });
  afterAll(() => proxy?.stop());

  it('a plain ProxyPass: the conformance apacheNoWebSocket shape is what real Apache sends', async () => {
    const port = proxy.port('apache-plain.conf');
    const request = await forward(recorder, port);
    expect(shapeOf(request)).toMatchObject({
      ...expectedShape(proxyShapes.apacheNoWebSocket),
      forwarded: true,
      key: true,
      protocol: 'chat.v2',
    });
    expect(request.get('x-forwarded-for')).toBe('127.0.0.1');
    expect(request.get('x-forwarded-host')).toBe(`127.0.0.1:${port}`);
    expect(request.get('x-forwarded-server')).toBe('localhost');
    // On the way back Apache drops the 426's Upgrade header.
    expect(responseHeaders().upgrade).toBeUndefined();
  });
});

describeWith(['haproxy'], 'what HAProxy sends upstream', ({ haproxy }) => {
  let proxy: RunningProxy;
  beforeAll(async () => {
    proxy = await startHaproxy(haproxy, { BACKEND: `127.0.0.1:${recorder.port}` });
  });
  afterAll(() => proxy?.stop());

  it('every header name lower-case, the upgrade passed on', async () => {
    const request = await forward(recorder, proxy.port('haproxy.cfg'));
    expect(request.headers.map(([name]) => name)).toEqual(
      request.headers.map(([name]) => name.toLowerCase()),
    );
    expect(shapeOf(request)).toMatchObject({ version: '1.1', upgrade: 'websocket', key: true });
    expect(request.get('connection')?.toLowerCase()).toBe('upgrade');
  });

  it('a handshake that arrives stripped leaves stripped, still lower-case', async () => {
    const request = await forward(recorder, proxy.port('haproxy.cfg'), { Upgrade: null, Connection: null });
    expect(shapeOf(request)).toMatchObject({ upgrade: undefined, connection: undefined, key: true });
    expect(request.headers.every(([name]) => name === name.toLowerCase())).toBe(true);
    // On the way back HAProxy keeps Upgrade and adds a Sec-WebSocket-Accept to the 426.
    expect(responseHeaders()).toMatchObject({ upgrade: 'websocket' });
    expect(responseHeaders()['sec-websocket-accept']).toMatch(/^[A-Za-z0-9+/]{27}=$/);
  });
});

describeWith(['caddy'], 'what Caddy sends upstream', ({ caddy }) => {
  let proxy: RunningProxy;
  beforeAll(async () => {
    proxy = await startCaddy(caddy, { BACKEND: `127.0.0.1:${recorder.port}` });
  });
  afterAll(() => proxy?.stop());

  it('Go-style names (Sec-Websocket-Key), X-Forwarded-For/-Host/-Proto, the upgrade passed on', async () => {
    const request = await forward(recorder, proxy.port('Caddyfile'));
    const names = request.headers.map(([name]) => name);
    expect(names).toEqual(
      expect.arrayContaining(['Sec-Websocket-Key', 'Sec-Websocket-Version', 'X-Forwarded-Proto']),
    );
    expect(shapeOf(request)).toMatchObject({ upgrade: 'websocket', connection: 'Upgrade', forwarded: true });
    // A browser's own Accept-Encoding is passed on as it is.
    expect(request.get('accept-encoding')).toBe('gzip, deflate, br, zstd');
    // On the way back Caddy drops the 426's Upgrade and Connection headers.
    expect(responseHeaders().upgrade).toBeUndefined();
    expect(responseHeaders().connection).toBeUndefined();
  });

  it('without a client Accept-Encoding, Go adds Accept-Encoding: gzip', async () => {
    const request = await forward(recorder, proxy.port('Caddyfile'), { 'Accept-Encoding': null });
    expect(request.get('accept-encoding')).toBe('gzip');
  });
});
