/**
 * A real server process (nginx, apache2, haproxy, caddy) run for one test file: its own temp
 * directory for config, pid, logs and temp files, run in the foreground as the current user,
 * awaited until its port accepts connections, and always stopped (TERM, then KILL) and awaited.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForPort } from './ports.js';

/** packages/e2e/configs: the config templates the tests fill and the recipes quote. */
export const configDir = new URL('../configs/', import.meta.url).pathname;

/** Values for a template's `{{NAME}}` placeholders. */
export type TemplateValues = Readonly<Record<string, string | number>>;

/**
 * A config template with its `{{NAME}}` placeholders filled. Every placeholder must have a value
 * and every value must be used, so a renamed placeholder fails loudly instead of starting a peer
 * with a half-filled config.
 */
export function renderTemplate(file: string, values: TemplateValues): string {
  const text = readFileSync(join(configDir, file), 'utf8');
  const used = new Set<string>();
  const rendered = text.replace(/\{\{([A-Z_]+)\}\}/g, (_all, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${file}: no value for {{${name}}}`);
    used.add(name);
    return String(value);
  });
  const unused = Object.keys(values).filter((name) => !used.has(name));
  if (unused.length > 0) throw new Error(`${file}: no placeholder for ${unused.join(', ')}`);
  return rendered;
}

/** How to run one peer. */
export interface PeerSpec {
  /** Shown in errors, e.g. `nginx`. */
  readonly name: string;
  readonly command: string;
  /** Arguments, given the temp directory. */
  readonly args: (dir: string) => readonly string[];
  /** Writes the config files into the temp directory before the start. */
  readonly prepare: (dir: string) => void;
  /** The ports that must accept connections before the peer counts as started. */
  readonly ports: readonly number[];
  /**
   * What the process itself prints to stdout once it is serving (matched against all of its stdout
   * so far); the peer counts as started only then (and after `ports`). A port that accepts connections may belong to another process (a
   * port picked free a moment ago can be taken before this one binds it); its own output cannot.
   */
  readonly readyOutput?: RegExp;
  /** Log files (relative to the temp directory) whose tail goes into failure messages. */
  readonly logs?: readonly string[];
  /** Extra environment variables, which may point into the temp directory. */
  readonly env?: (dir: string) => Readonly<Record<string, string>>;
  /** Bound on the start. @default 15000 */
  readonly startTimeoutMs?: number;
}

/** A running peer. */
export interface Peer {
  readonly name: string;
  /** Its temp directory (config, pid, logs). */
  readonly dir: string;
  /** stdout, stderr and the log files, for failure messages. */
  output(): string;
  /** Everything the process wrote to stdout so far. */
  stdout(): string;
  /** Stops the process group and waits for it; removes the temp directory. Safe to call twice. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// Last resort if a test worker dies without running afterAll: never leave a proxy behind.
process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    // The peer was spawned as the leader of its own process group: this reaches its workers too.
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** A fresh temp directory, readable by a worker that drops privileges (apache2 as root). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `wsgate-e2e-${prefix}-`));
  chmodSync(dir, 0o755);
  return dir;
}

/** Starts a peer and resolves once all its ports accept connections. */
export async function startPeer(spec: PeerSpec): Promise<Peer> {
  const dir = tempDir(spec.name);
  let stdout = '';
  let stderr = '';
  const output = () => {
    const logs = (spec.logs ?? [])
      .map((file) => join(dir, file))
      .filter((file) => existsSync(file))
      .map((file) => `--- ${file}\n${tail(readFileSync(file, 'utf8'))}`);
    return [
      `--- ${spec.name} stdout\n${tail(stdout)}`,
      `--- ${spec.name} stderr\n${tail(stderr)}`,
      ...logs,
    ].join('\n');
  };
  try {
    spec.prepare(dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const child = spawn(spec.command, [...spec.args(dir)], {
    cwd: dir,
    env: { ...process.env, ...spec.env?.(dir) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(child);
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  let spawnError: Error | undefined;
  child.on('error', (error) => {
    spawnError = error;
  });
  const exited = once(child, 'exit');

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
      await exited.catch(() => undefined);
      clearTimeout(timer);
    }
    // Workers that outlived their leader (they share its process group).
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // none left
    }
    running.delete(child);
    rmSync(dir, { recursive: true, force: true });
  };

  const problem = (when: string): string | undefined => {
    if (spawnError) return `${spec.name} did not start: ${spawnError.message}`;
    if (child.exitCode !== null || child.signalCode !== null)
      return `${spec.name} exited (${child.exitCode ?? child.signalCode}) ${when}\n${output()}`;
    return undefined;
  };
  try {
    const timeout = spec.startTimeoutMs ?? 15_000;
    for (const port of spec.ports) {
      await waitForPort(port, timeout, () => problem(`before listening on ${port}`));
    }
    if (spec.readyOutput) await waitForOutput(spec.readyOutput, () => stdout, timeout, problem);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const detail = message.includes('---') ? message : `${message}\n${output()}`;
    await stop();
    throw new Error(detail);
  }
  return { name: spec.name, dir, output, stdout: () => stdout, stop };
}

/** Resolves once `read()` matches `pattern`; rejects when the process ends or after `timeoutMs`. */
async function waitForOutput(
  pattern: RegExp,
  read: () => string,
  timeoutMs: number,
  problem: (when: string) => string | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (pattern.test(read())) return;
    const failed = problem(`before printing ${pattern}`);
    if (failed) throw new Error(failed);
    if (Date.now() > deadline) throw new Error(`no output matching ${pattern} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Writes a file into a peer's directory. */
export function writeConfig(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}
