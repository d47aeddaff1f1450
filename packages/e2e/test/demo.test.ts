/**
 * The README's try-it: `npm start` (scripts/demo.mjs) serves a page that opens every reference
 * app's endpoints from the browser and shows each outcome with the server's record for it. Here
 * a real headless Chromium opens that page — at http://localhost:5173, the origin /chat allows,
 * and at http://127.0.0.1:<port>, which it refuses — then Ctrl-C (SIGINT) stops the demo cleanly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { root } from '../src/apps.js';
import { describeWith } from '../src/binaries.js';
import { launchChromium, PAGE_ORIGIN, type RunningBrowser } from '../src/browser.js';

interface Row {
  app: string;
  trial: string;
  browser: string;
  outcome: string;
  status: string;
  code: string;
  message: string;
  messageType: string;
  text: string;
}

/** The process group of a `detached` child (its pid); never 0, which would signal this process's own group. */
function groupOf(child: ChildProcess): number {
  if (!child.pid) throw new Error('the demo has no pid');
  return child.pid;
}

describeWith(['chromium'], 'npm start: the demo page in Chromium', ({ chromium }) => {
  let demo: ChildProcess;
  let output = '';
  let pagePort: number;
  let apps: Map<string, string>;
  let browser: RunningBrowser;

  beforeAll(async () => {
    demo = spawn(process.execPath, [join(root, 'scripts', 'demo.mjs')], {
      cwd: root,
      env: { ...process.env, PORT_EXPRESS: '0', PORT_KOA: '0', PORT_FASTIFY: '0', DEMO_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, as in a terminal: Ctrl-C below signals the demo and its apps at once.
      detached: true,
    });
    const announced = new Promise<number>((resolve, reject) => {
      for (const stream of [demo.stdout, demo.stderr]) {
        stream?.on('data', (chunk) => {
          output += chunk;
          const match = /open http:\/\/localhost:(\d+)\/ in a browser/.exec(output);
          if (match && /koa +http/.test(output)) resolve(Number(match[1]));
        });
      }
      demo.once('exit', (code) =>
        reject(new Error(`the demo exited with ${code} before listening:\n${output}`)),
      );
    });
    pagePort = await announced;
    apps = new Map(
      [...output.matchAll(/^ {2}(\w+) +(http:\/\/127\.0\.0\.1:\d+)\/health$/gm)].map((m) => [
        m[1] ?? '',
        m[2] ?? '',
      ]),
    );
    browser = await launchChromium(chromium, pagePort);
  });
  afterAll(async () => {
    await browser?.close();
    if (demo && demo.exitCode === null && demo.signalCode === null) {
      const exited = once(demo, 'exit');
      process.kill(-groupOf(demo), 'SIGKILL');
      await exited;
    }
  });

  /** Opens the demo page at `origin`, waits until it has run every trial, and reads its table. */
  async function rowsFrom(origin: string): Promise<Row[]> {
    const page: Page = await browser.context.newPage();
    try {
      await page.goto(`${origin}/`, { timeout: 10_000 });
      // The page sets data-done on <body> once every trial has its record (no DOM types here: a string).
      await page.waitForFunction("document.body.dataset.done === 'true'", undefined, { timeout: 60_000 });
      return await page.$$eval('#results tr', (trs) =>
        trs.map((element) => {
          const tr = element as unknown as {
            dataset: Record<string, string | undefined>;
            textContent: string | null;
          };
          const d = tr.dataset;
          return {
            app: d.app ?? '',
            trial: d.trial ?? '',
            browser: d.browser ?? '',
            outcome: d.outcome ?? '',
            status: d.status ?? '',
            code: d.code ?? '',
            message: d.message ?? '',
            messageType: d.messageType ?? '',
            text: tr.textContent ?? '',
          };
        }),
      );
    } finally {
      await page.close();
    }
  }

  it('prints every app and its endpoints at start', () => {
    expect([...apps.keys()].sort()).toEqual(['express', 'fastify', 'koa']);
    for (const address of apps.values()) {
      const ws = address.replace(/^http/, 'ws');
      for (const path of ['/echo', '/chat', '/private']) expect(output).toContain(`${ws}${path}`);
    }
  });

  it(`from ${PAGE_ORIGIN}: each app accepts /echo (text stays text) and /chat, and shows the server's reason for each refusal`, async () => {
    const rows = await rowsFrom(PAGE_ORIGIN);
    expect(rows).toHaveLength(apps.size * 5);
    for (const app of apps.keys()) {
      const of = (trial: string) => rows.find((row) => row.app === app && row.trial === trial);
      expect(of('echo')).toMatchObject({
        browser: 'open',
        outcome: 'accepted',
        status: '101',
        message: 'hello',
        messageType: 'text',
      });
      expect(of('chat')).toMatchObject({
        browser: 'open',
        outcome: 'accepted',
        status: '101',
        message: 'hi',
        messageType: 'text',
      });
      expect(of('chat')?.text).toContain('chat.v2');
      expect(of('chat-no-protocol')).toMatchObject({
        browser: 'closed',
        outcome: 'rejected',
        code: 'SUBPROTOCOL_REQUIRED',
      });
      expect(of('private')).toMatchObject({
        browser: 'closed',
        outcome: 'rejected',
        status: '401',
        code: 'AUTHENTICATION_REQUIRED',
      });
      // Past auth, /private keeps the default same-origin policy, and the page is on another host.
      expect(of('private-ticket')).toMatchObject({
        browser: 'closed',
        status: '403',
        code: 'ORIGIN_NOT_ALLOWED',
      });
      expect(of('private-ticket')?.text).toContain('open the page from the same host as the server');
    }
  });

  it("from another origin: /chat is refused with 403 ORIGIN_NOT_ALLOWED, and the page shows the record's hint", async () => {
    const rows = await rowsFrom(`http://127.0.0.1:${pagePort}`);
    for (const app of apps.keys()) {
      const chat = rows.find((row) => row.app === app && row.trial === 'chat');
      expect(chat).toMatchObject({
        browser: 'closed',
        outcome: 'rejected',
        status: '403',
        code: 'ORIGIN_NOT_ALLOWED',
      });
      expect(chat?.text).toContain(
        `"http://127.0.0.1:${pagePort}" is not in this endpoint's \`origins\` list`,
      );
      expect(rows.find((row) => row.app === app && row.trial === 'echo')).toMatchObject({
        outcome: 'accepted',
      });
    }
  });

  it('stops on Ctrl-C (SIGINT to its process group) with exit 0, no failed-command lines, and every app closed', async () => {
    const exited = once(demo, 'exit');
    process.kill(-groupOf(demo), 'SIGINT');
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(output).toContain('stopped');
    expect(output).not.toMatch(/ELIFECYCLE|Command failed|exited with/);
    for (const address of apps.values()) {
      await expect(fetch(`${address}/health`)).rejects.toThrow();
    }
  });
});
