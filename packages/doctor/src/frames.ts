/**
 * The few WebSocket frames the open stage needs (RFC 6455 §5): masked client frames out, and a
 * bounded, linear parser for server frames in. permessage-deflate messages (RSV1) are inflated with a
 * bounded output; the doctor itself always sends uncompressed frames, which RFC 7692 allows.
 */
import { randomBytes } from 'node:crypto';
import { constants, inflateRawSync } from 'node:zlib';

/** Opcodes used here. */
export const OPCODES = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** The largest server frame payload the doctor accepts. */
export const MAX_FRAME_PAYLOAD = 1024 * 1024;

/** A frame from the server. */
export interface Frame {
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
}

/** A result of parsing the start of a buffer. */
export type ParseResult =
  | { readonly kind: 'frame'; readonly frame: Frame; readonly length: number }
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'invalid'; readonly reason: string };

/** Encodes one masked client frame (FIN set). */
export function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const length = payload.length;
  const sizeBytes = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const head = Buffer.alloc(2 + sizeBytes + 4);
  head[0] = 0x80 | opcode;
  if (sizeBytes === 0) head[1] = 0x80 | length;
  else if (sizeBytes === 2) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(length, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  mask.copy(head, 2 + sizeBytes);
  const body = Buffer.alloc(length);
  for (let i = 0; i < length; i++) body[i] = (payload[i] as number) ^ (mask[i & 3] as number);
  return Buffer.concat([head, body]);
}

/** Encodes a close frame with a code and reason. */
export function encodeClose(code: number, reason = ''): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return encodeFrame(OPCODES.close, payload);
}

/** Parses one server frame from the start of `bytes`. */
export function parseFrame(bytes: Buffer, deflate: boolean): ParseResult {
  if (bytes.length < 2) return { kind: 'incomplete' };
  const b0 = bytes[0] as number;
  const b1 = bytes[1] as number;
  const opcode = b0 & 0x0f;
  const rsv1 = (b0 & 0x40) !== 0;
  if ((b0 & 0x30) !== 0) return { kind: 'invalid', reason: 'RSV2/RSV3 set' };
  if (rsv1 && (!deflate || opcode >= 8))
    return { kind: 'invalid', reason: 'RSV1 set without permessage-deflate' };
  if ((b1 & 0x80) !== 0) return { kind: 'invalid', reason: 'the server masked a frame (RFC 6455 §5.1)' };
  if (![0, 1, 2, 8, 9, 10].includes(opcode)) return { kind: 'invalid', reason: `reserved opcode ${opcode}` };
  let length = b1 & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (bytes.length < 4) return { kind: 'incomplete' };
    length = bytes.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (bytes.length < 10) return { kind: 'incomplete' };
    const big = bytes.readBigUInt64BE(2);
    if (big > BigInt(MAX_FRAME_PAYLOAD)) return { kind: 'invalid', reason: `a frame of ${big} bytes` };
    length = Number(big);
    offset = 10;
  }
  if (opcode >= 8 && length > 125) return { kind: 'invalid', reason: 'a control frame over 125 bytes' };
  if (length > MAX_FRAME_PAYLOAD) return { kind: 'invalid', reason: `a frame of ${length} bytes` };
  if (bytes.length < offset + length) return { kind: 'incomplete' };
  const payload = Buffer.from(bytes.subarray(offset, offset + length));
  return { kind: 'frame', frame: { fin: (b0 & 0x80) !== 0, rsv1, opcode, payload }, length: offset + length };
}

/** Inflates a permessage-deflate message (RFC 7692 §7.2.2: append 00 00 ff ff). */
export function inflateMessage(payload: Buffer): Buffer {
  return inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), {
    maxOutputLength: MAX_FRAME_PAYLOAD,
    // The message ends at a sync flush, not at the end of a deflate stream.
    finishFlush: constants.Z_SYNC_FLUSH,
  });
}
