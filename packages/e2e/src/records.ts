/** In-memory capture of pino's JSON output, so tests assert the server's log records. */
import { Writable } from 'node:stream';

/** A pino destination that parses every line into `records`. */
export function memoryStream(records: Array<Record<string, unknown>>): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) records.push(JSON.parse(line));
      callback();
    },
  });
}
