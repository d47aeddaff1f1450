/**
 * Stage 7, open: a text message and a ping over the open connection (the pong must come back), then
 * with `--idle` a silent wait that names a proxy idle timeout when the connection dies, and a last
 * ping for a connection dropped without a word. Ends with a clean close.
 */
import type { Duplex } from 'node:stream';
import { encodeClose, encodeFrame, type Frame, inflateMessage, OPCODES, parseFrame } from '../frames.js';
import { deadline, type Inbox } from '../inbox.js';
import type { Evidence, StageFailure } from '../report.js';
import type { Negotiated } from './handshake.js';
import { failed, passed, type StageOutcome } from './outcome.js';

/** What the open stage is told. */
export interface OpenOptions {
  readonly timeoutMs: number;
  readonly idleMs: number;
}

type Next =
  | { readonly kind: 'frame'; readonly frame: Frame }
  | { readonly kind: 'end' | 'timeout' }
  | { readonly kind: 'invalid'; readonly reason: string };

/** Reads frames one by one, answering pings; messages are collected as evidence. */
class FrameReader {
  readonly messages: string[] = [];
  serverPings = 0;
  constructor(
    private readonly inbox: Inbox,
    private readonly deflate: boolean,
  ) {}

  async next(ms: number): Promise<Next> {
    const remaining = deadline(ms);
    for (;;) {
      const parsed = parseFrame(this.inbox.bytes, this.deflate);
      if (parsed.kind === 'invalid') return parsed;
      if (parsed.kind === 'frame') {
        this.inbox.take(parsed.length);
        const { frame } = parsed;
        if (frame.opcode === OPCODES.ping) {
          this.serverPings++;
          this.inbox.socket.write(encodeFrame(OPCODES.pong, frame.payload));
          continue;
        }
        if (
          frame.opcode === OPCODES.text ||
          frame.opcode === OPCODES.binary ||
          frame.opcode === OPCODES.continuation
        ) {
          this.note(frame);
          continue;
        }
        return { kind: 'frame', frame };
      }
      const result = await this.inbox.wait(remaining());
      if (result === 'timeout') return { kind: 'timeout' };
      if (
        (result === 'end' || result === 'error') &&
        parseFrame(this.inbox.bytes, this.deflate).kind === 'incomplete'
      ) {
        return { kind: 'end' };
      }
    }
  }

  private note(frame: Frame): void {
    if (this.messages.length >= 5) return;
    let payload = frame.payload;
    if (frame.rsv1) {
      try {
        payload = inflateMessage(payload);
      } catch {
        this.messages.push('(a compressed message that did not inflate)');
        return;
      }
    }
    const text =
      frame.opcode === OPCODES.binary ? `(binary, ${payload.length} bytes)` : payload.toString('utf8');
    this.messages.push(text.length > 200 ? `${text.slice(0, 200)}…` : text);
  }
}

function closeOf(frame: Frame): { code: number; reason: string } {
  if (frame.payload.length < 2) return { code: 1005, reason: '' };
  return { code: frame.payload.readUInt16BE(0), reason: frame.payload.subarray(2).toString('utf8') };
}

/** Waits for the pong of a ping just sent; any other ending is returned as a failure. */
async function awaitPong(
  reader: FrameReader,
  token: Buffer,
  timeoutMs: number,
  when: string,
  evidence: Evidence,
): Promise<StageFailure | undefined> {
  const remaining = deadline(timeoutMs);
  for (;;) {
    const next = await reader.next(remaining());
    if (next.kind === 'frame' && next.frame.opcode === OPCODES.pong) {
      if (next.frame.payload.equals(token)) return undefined;
      continue;
    }
    if (next.kind === 'frame' && next.frame.opcode === OPCODES.close) {
      const close = closeOf(next.frame);
      evidence.close = close;
      return {
        cause: 'open-closed',
        detail: `the server closed the connection ${when} with ${close.code}${close.reason ? ` "${close.reason}"` : ''}`,
        evidence,
      };
    }
    if (next.kind === 'invalid') {
      return {
        cause: 'open-protocol-error',
        detail: `invalid frame from the server: ${next.reason}`,
        evidence,
      };
    }
    if (next.kind === 'end') {
      return {
        cause: 'open-closed',
        detail: `the connection ended ${when} without a close frame (a browser reports 1006)`,
        evidence,
      };
    }
    if (next.kind === 'timeout') {
      return { cause: 'open-no-pong', detail: `no pong within ${timeoutMs} ms ${when}`, evidence };
    }
  }
}

/** Exchanges a message and a ping; with `idleMs` also waits idle and pings again. */
export async function exchange(
  inbox: Inbox,
  negotiated: Negotiated,
  options: OpenOptions,
): Promise<StageOutcome<undefined>> {
  const reader = new FrameReader(inbox, negotiated.deflate);
  const evidence: Evidence = {};
  const socket = inbox.socket;
  try {
    const started = performance.now();
    socket.write(encodeFrame(OPCODES.text, Buffer.from('wsgate-doctor: hello')));
    const token = Buffer.from('wsgate-doctor');
    socket.write(encodeFrame(OPCODES.ping, token));
    const first = await awaitPong(reader, token, options.timeoutMs, 'after the first message', evidence);
    evidence.messages = reader.messages;
    if (first) return failed(first);
    evidence.pingMs = Math.round(performance.now() - started);
    if (options.idleMs > 0) {
      const idle = await waitIdle(reader, socket, options, evidence);
      if (idle) return failed(idle);
    }
    evidence.serverPings = reader.serverPings;
    socket.write(encodeClose(1000, 'wsgate-doctor done'));
    const closing = await reader.next(Math.min(options.timeoutMs, 2000));
    evidence.closeAnswered = closing.kind === 'frame' && closing.frame.opcode === OPCODES.close;
    return passed(undefined, evidence);
  } finally {
    socket.destroy();
  }
}

async function waitIdle(
  reader: FrameReader,
  socket: Duplex,
  options: OpenOptions,
  evidence: Evidence,
): Promise<StageFailure | undefined> {
  const started = performance.now();
  const next = await reader.next(options.idleMs);
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  evidence.idleSeconds = seconds;
  if (next.kind !== 'timeout') {
    const close =
      next.kind === 'frame' && next.frame.opcode === OPCODES.close ? closeOf(next.frame) : undefined;
    if (close) evidence.close = close;
    return {
      cause: 'open-idle-closed',
      detail: `the connection was ${close ? `closed with ${close.code}` : 'ended without a close frame'} after ${seconds} s of silence${idleGuess(seconds)}`,
      evidence,
    };
  }
  const token = Buffer.from('wsgate-doctor idle');
  socket.write(encodeFrame(OPCODES.ping, token));
  const failure = await awaitPong(reader, token, options.timeoutMs, `after ${seconds} s idle`, evidence);
  if (!failure) return undefined;
  if (failure.cause === 'open-no-pong') {
    return {
      ...failure,
      cause: 'open-idle-dropped',
      detail: `after ${seconds} s idle, a ping got no pong: the connection was dropped silently`,
    };
  }
  return { ...failure, cause: 'open-idle-closed' };
}

/** Names the usual suspect for a connection that died after `seconds` of silence. */
function idleGuess(seconds: number): string {
  if (seconds >= 55 && seconds <= 65)
    return ' (60 s: nginx proxy_read_timeout default, or an AWS ALB idle timeout)';
  if (seconds >= 95 && seconds <= 105) return ' (100 s: Cloudflare)';
  if (seconds >= 340 && seconds <= 360) return ' (350 s: AWS NLB / Azure load balancer)';
  return '';
}
