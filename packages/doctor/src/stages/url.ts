/**
 * Stage 1, url: scheme, host, port and path. Whether the scheme matches what the port speaks is
 * found later, from what the server answers (the tls and http stages report it as a url cause).
 */
import { isIP } from 'node:net';
import { failed, passed, type StageOutcome } from './outcome.js';

/** Where to connect and what to ask for. */
export interface Target {
  readonly url: URL;
  readonly secure: boolean;
  /** The host name or address, without IPv6 brackets. */
  readonly host: string;
  readonly port: number;
  /** Path and query: the request target. */
  readonly path: string;
  /** The `Host` header value. */
  readonly hostHeader: string;
}

/** Checks the URL and splits it into a {@link Target}. */
export function checkUrl(text: string): StageOutcome<Target> {
  if (!text.includes('://')) {
    return failed({
      cause: 'url-invalid',
      detail: `${JSON.stringify(text)} has no scheme`,
      fix: `Write the whole URL: ws://${text} or wss://${text}.`,
    });
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return failed({ cause: 'url-invalid', detail: `${JSON.stringify(text)} does not parse as a URL` });
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    const suggested = `${url.protocol === 'https:' ? 'wss' : 'ws'}:${url.href.slice(url.protocol.length)}`;
    return failed({
      cause: 'url-scheme',
      detail: `the scheme is ${url.protocol.slice(0, -1)}://, not ws:// or wss://`,
      fix: `Use ${suggested}.`,
    });
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    return failed({ cause: 'url-scheme', detail: `the scheme ${url.protocol} is not ws: or wss:` });
  }
  if (url.hostname === '') return failed({ cause: 'url-invalid', detail: 'the URL has no host' });
  const secure = url.protocol === 'wss:';
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const path = `${url.pathname || '/'}${url.search}`;
  const evidence = {
    scheme: url.protocol.slice(0, -1),
    host,
    port,
    path,
    ...(isIP(host) ? { address: true } : {}),
    ...(url.hash ? { fragment: `${url.hash} is not sent to the server` } : {}),
    ...(url.username || url.password ? { credentials: 'userinfo in the URL is not sent by browsers' } : {}),
  };
  return passed({ url, secure, host, port, path, hostHeader: url.host }, evidence);
}
