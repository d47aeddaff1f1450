/** In-memory capture of pino's JSON output, so tests assert the log records themselves. */
import { Writable } from 'node:stream';
import { pino } from 'pino';

/** A log record as pino wrote it. */
export type LogRecord = Record<string, unknown> & { level: number; msg: string };

/** Collects pino's JSON lines in memory. */
export class LogCapture {
  readonly records: LogRecord[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') this.records.push(JSON.parse(line) as LogRecord);
      }
      callback();
    },
  });
  readonly logger = pino({ level: 'debug' }, this.stream);

  /** Waits (bounded) for a handshake record matching `where`, newest first. */
  find(where: (record: LogRecord) => boolean, timeoutMs = 3_000): Promise<LogRecord> {
    return this.findAny((r) => typeof r.outcome === 'string' && where(r), timeoutMs);
  }

  /** Waits (bounded) for any record matching `where`, newest first. */
  async findAny(where: (record: LogRecord) => boolean, timeoutMs = 3_000): Promise<LogRecord> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = [...this.records].reverse().find(where);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(
      `no matching log record; have:\n${this.records.map((r) => JSON.stringify(r)).join('\n')}`,
    );
  }
}
