/**
 * The file-descriptor watcher (docs/design.md, "Resource limits"), in process: the server's
 * accept errors EMFILE/ENFILE are logged once per episode and never crash it, every other server
 * error still crashes an application that has no listener of its own, and the descriptor count
 * near the soft limit starts and ends an episode. The real limit, in a child process under
 * `prlimit`, is packages/e2e/test/fd-limit.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../src/index.js';
import {
  attachUpgradeDispatch,
  DESCRIPTORS_AVAILABLE_MESSAGE,
  type DescriptorProbe,
  isAcceptExhaustion,
  OUT_OF_DESCRIPTORS_MESSAGE,
  parseOpenFilesLimit,
  tagUpgrades,
  watchDescriptors,
} from '../src/node/index.js';

class Capture implements Logger {
  readonly lines: Array<{
    level: 'info' | 'error';
    msg: string | undefined;
    record: Record<string, unknown>;
  }> = [];
  info(record: object, msg?: string): void {
    this.lines.push({ level: 'info', msg, record: record as Record<string, unknown> });
  }
  error(record: object, msg?: string): void {
    this.lines.push({ level: 'error', msg, record: record as Record<string, unknown> });
  }
  messages(): Array<string | undefined> {
    return this.lines.map((line) => line.msg);
  }
}

/** An accept error as Node's net.Server emits it (`errnoException(err, 'accept')`). */
function acceptError(code: 'EMFILE' | 'ENFILE' | 'ECONNABORTED'): Error {
  return Object.assign(new Error(`accept ${code}`), { code, errno: -24, syscall: 'accept' });
}

const LIMITS_TEXT = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});
function server(): Server {
  const s = createServer();
  servers.push(s);
  return s;
}

describe('parseOpenFilesLimit', () => {
  it('reads the soft and hard limit of /proc/self/limits', () => {
    expect(parseOpenFilesLimit(LIMITS_TEXT)).toEqual({ soft: 1024, hard: 524288 });
  });
  it('unlimited or absent → undefined', () => {
    expect(
      parseOpenFilesLimit('Max open files            unlimited            unlimited            files'),
    ).toEqual({ soft: undefined, hard: undefined });
    expect(parseOpenFilesLimit('Max cpu time  unlimited')).toBeUndefined();
  });
});

describe('the server error listener', () => {
  const noCount: DescriptorProbe = { limits: () => ({ soft: 64, hard: 64 }), count: () => undefined };

  it('takes accept EMFILE/ENFILE: logged once per episode at error level with the limit and the fix', () => {
    const logs = new Capture();
    const s = server();
    watchDescriptors(s, () => logs, noCount);
    expect(isAcceptExhaustion(acceptError('EMFILE'))).toBe(true);
    s.emit('error', acceptError('EMFILE'));
    s.emit('error', acceptError('EMFILE'));
    expect(logs.lines).toHaveLength(1);
    expect(logs.lines[0]).toMatchObject({
      level: 'error',
      msg: OUT_OF_DESCRIPTORS_MESSAGE,
      record: { code: 'EMFILE', limit: 64, hardLimit: 64, detectedBy: 'accept-error' },
    });
    expect(logs.lines[0]?.record.hint).toMatch(/now 64.*LimitNOFILE=.*ulimit -n.*maxConnections/);
  });

  it('rethrows any other server error when it is the only listener (the application crashes as before)', () => {
    const s = server();
    watchDescriptors(s, () => new Capture(), noCount);
    const inUse = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', syscall: 'listen' });
    expect(() => s.emit('error', inUse)).toThrow(inUse);
    // An accept error that is not exhaustion is not wsgate's either.
    expect(() => s.emit('error', acceptError('ECONNABORTED'))).toThrow(/ECONNABORTED/);
    // A plain EventEmitter does the same without any listener: the behaviour wsgate keeps.
    expect(() => new EventEmitter().emit('error', inUse)).toThrow(inUse);
  });

  it('leaves other errors to the application’s own listener, and does not throw', () => {
    const s = server();
    watchDescriptors(s, () => new Capture(), noCount);
    const seen: unknown[] = [];
    s.on('error', (error) => seen.push(error));
    const inUse = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', syscall: 'listen' });
    expect(() => s.emit('error', inUse)).not.toThrow();
    expect(seen).toEqual([inUse]);
  });

  it('a real listen error still reaches the application (EADDRINUSE through once(server, "error"))', async () => {
    const first = server();
    first.listen(0, '127.0.0.1');
    await new Promise((resolve) => first.once('listening', resolve));
    const second = server();
    attachUpgradeDispatch(second);
    const failed = new Promise<NodeJS.ErrnoException>((resolve) => second.once('error', resolve));
    second.listen((first.address() as { port: number }).port, '127.0.0.1');
    expect((await failed).code).toBe('EADDRINUSE');
  });

  it('is installed once per server, by the dispatcher and by a plugin’s tagging alike', () => {
    const attached = server();
    attachUpgradeDispatch(attached);
    attachUpgradeDispatch(attached);
    expect(attached.listenerCount('error')).toBe(1);
    const tagged = server();
    tagUpgrades(tagged, { logger: new Capture() });
    expect(tagged.listenerCount('error')).toBe(1);
    // Never swallowed: with wsgate's listener alone, an error still throws.
    expect(() => tagged.emit('error', new Error('boom'))).toThrow('boom');
    expect(() => tagged.emit('error', acceptError('ENFILE'))).not.toThrow();
  });

  it('without a logger, says so as a process warning', async () => {
    const s = server();
    watchDescriptors(s, () => undefined, noCount);
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
    s.emit('error', acceptError('EMFILE'));
    const warning = await warned;
    expect(warning.message).toContain(OUT_OF_DESCRIPTORS_MESSAGE);
    expect((warning as NodeJS.ErrnoException).code).toBe('WSGATE_EMFILE');
  });
});

describe('the descriptor count near the soft limit', () => {
  it('starts an episode once (at most one descriptor left) and ends it after a margin of closes', () => {
    const logs = new Capture();
    const s = server();
    let open = 10;
    // 100 descriptors; the margin is 8. The listing counts its own descriptor.
    const probe: DescriptorProbe = { limits: () => ({ soft: 100, hard: 200 }), count: () => open + 1 };
    watchDescriptors(s, () => logs, probe);
    const sockets: EventEmitter[] = [];
    const connect = () => {
      const socket = new EventEmitter();
      sockets.push(socket);
      open++;
      s.emit('connection', socket);
    };
    const close = () => {
      open--;
      sockets.shift()?.emit('close');
    };
    for (let i = 0; i < 88; i++) connect(); // 98 open: one left after the listing's own
    expect(logs.lines).toHaveLength(0);
    connect(); // 99
    expect(logs.lines).toHaveLength(1);
    expect(logs.lines[0]?.record).toMatchObject({ code: 'EMFILE', limit: 100, detectedBy: 'count' });
    connect(); // still in the episode: not logged again
    for (let i = 0; i < 8; i++) close();
    expect(logs.messages()).toEqual([OUT_OF_DESCRIPTORS_MESSAGE]);
    close(); // eight below the connections open when the episode began
    expect(logs.messages()).toEqual([OUT_OF_DESCRIPTORS_MESSAGE, DESCRIPTORS_AVAILABLE_MESSAGE]);
    for (let i = 0; i < 8; i++) connect();
    expect(logs.messages()).toEqual([
      OUT_OF_DESCRIPTORS_MESSAGE,
      DESCRIPTORS_AVAILABLE_MESSAGE,
      OUT_OF_DESCRIPTORS_MESSAGE,
    ]);
  });

  it('counts a few times on the way to the limit, not once per connection', () => {
    const logs = new Capture();
    const s = server();
    let open = 20;
    let counts = 0;
    const probe: DescriptorProbe = {
      limits: () => ({ soft: 10_000 }),
      count: () => {
        counts++;
        return open + 1;
      },
    };
    watchDescriptors(s, () => logs, probe);
    while (logs.lines.length === 0 && open < 10_000) {
      open++;
      s.emit('connection', new EventEmitter());
    }
    expect(open).toBe(9_999);
    // The margin is 500 descriptors: about log2(500) counts, and the one at the start.
    expect(counts).toBeLessThanOrEqual(12);
  });

  it('a listing that fails for lack of a descriptor counts as the limit', () => {
    const logs = new Capture();
    const s = server();
    const probe: DescriptorProbe = {
      limits: () => ({ soft: 16 }),
      count: (() => {
        let calls = 0;
        return () => (calls++ === 0 ? 4 : Number.POSITIVE_INFINITY);
      })(),
    };
    watchDescriptors(s, () => logs, probe);
    for (let i = 0; i < 4; i++) s.emit('connection', new EventEmitter());
    expect(logs.lines).toHaveLength(1);
  });
});

describe('in a process of its own (the crash an application relied on is kept)', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const core = fileURLToPath(new URL('../src/node/index.ts', import.meta.url));

  /** Runs `body` (ES module code with `http` and core's `attachUpgradeDispatch` in scope) under tsx. */
  function run(body: string) {
    const dir = mkdtempSync(join(tmpdir(), 'wsgate-descriptors-'));
    try {
      const script = join(dir, 'app.ts');
      writeFileSync(
        script,
        `import http from 'node:http';\nimport { attachUpgradeDispatch } from ${JSON.stringify(core)};\n${body}\n`,
      );
      return spawnSync(join(root, 'node_modules', '.bin', 'tsx'), [script], {
        encoding: 'utf8',
        timeout: 15_000,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('listen EADDRINUSE with no listener of the application’s: still crashes (exit 1)', async () => {
    const busy = server();
    busy.listen(0, '127.0.0.1');
    await new Promise((resolve) => busy.once('listening', resolve));
    const { port } = busy.address() as { port: number };
    const result = run(
      `const server = http.createServer();\nattachUpgradeDispatch(server);\nserver.listen(${port}, '127.0.0.1');`,
    );
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain('EADDRINUSE');
  });

  it('an accept EMFILE: logged, and the process lives on (exit 0 once the server closes)', () => {
    const result = run(
      [
        'const server = http.createServer();',
        'attachUpgradeDispatch(server, { settings: { logger: { info() {}, error: (r, msg) => console.log(msg, JSON.stringify(r)) } } });',
        "server.listen(0, '127.0.0.1', () => {",
        "  server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' }));",
        '  server.close();',
        '});',
      ].join('\n'),
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(OUT_OF_DESCRIPTORS_MESSAGE);
  });
});
