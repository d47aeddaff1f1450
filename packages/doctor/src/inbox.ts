/**
 * What a socket has received so far, and a way to wait for more with a deadline. Every stage that
 * reads server bytes reads them through here, so nothing is read twice or lost between stages.
 */
import type { Duplex } from 'node:stream';

/** Why a wait ended. */
export type WaitResult = 'data' | 'end' | 'error' | 'timeout';

/** Buffers a socket's bytes and its end or error. */
export class Inbox {
  private data: Buffer = Buffer.alloc(0);
  /** Whether the peer ended or the socket closed. */
  ended = false;
  /** The socket's error, if any. */
  error: NodeJS.ErrnoException | undefined;
  /** How many bytes arrived in total. */
  received = 0;
  private wake: (() => void) | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: event listeners of different signatures
  private readonly listeners: ReadonlyArray<[string, (...args: any[]) => void]>;

  constructor(readonly socket: Duplex) {
    this.listeners = [
      ['data', (chunk: Buffer) => this.onData(chunk)],
      ['end', () => this.onEnd()],
      ['close', () => this.onEnd()],
      ['error', (error: NodeJS.ErrnoException) => this.onError(error)],
    ];
    for (const [event, listener] of this.listeners) socket.on(event, listener);
  }

  /** The bytes not taken yet. */
  get bytes(): Buffer {
    return this.data;
  }

  /** Removes and returns the first `length` bytes. */
  take(length: number): Buffer {
    const taken = this.data.subarray(0, length);
    this.data = this.data.subarray(length);
    return taken;
  }

  /** Stops listening (the socket is handed to TLS); keeps an error listener so nothing crashes. */
  detach(): void {
    for (const [event, listener] of this.listeners) this.socket.off(event, listener);
    this.socket.on('error', () => {});
  }

  /** Resolves when more bytes arrive, the socket ends or fails, or after `ms`. */
  wait(ms: number): Promise<WaitResult> {
    if (this.error) return Promise.resolve('error');
    if (this.ended) return Promise.resolve('end');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve('timeout');
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(this.error ? 'error' : this.ended ? 'end' : 'data');
      };
    });
  }

  private onData(chunk: Buffer): void {
    this.received += chunk.length;
    this.data = this.data.length === 0 ? chunk : Buffer.concat([this.data, chunk]);
    this.wake?.();
  }

  private onEnd(): void {
    this.ended = true;
    this.wake?.();
  }

  private onError(error: NodeJS.ErrnoException): void {
    this.error ??= error;
    this.wake?.();
  }
}

/** A deadline shared by the waits of one step. */
export function deadline(ms: number): () => number {
  const end = performance.now() + ms;
  return () => Math.max(0, end - performance.now());
}
