/**
 * Every cause the doctor can name: a stable code (listed in the package README), the stage it
 * belongs to, what it means, and the fix printed when the run has nothing more specific.
 */
import type { StageName } from './report.js';

/** A cause's catalog entry. */
export interface Cause {
  readonly stage: StageName;
  /** What the cause means, in one sentence. */
  readonly meaning: string;
  /** The default fix. */
  readonly fix: string;
}

/** The catalog of causes, by code. Codes never change meaning once released. */
export const causes = {
  'url-invalid': {
    stage: 'url',
    meaning: 'The argument is not a URL.',
    fix: 'Pass the full URL the client uses, e.g. wss://example.com/chat.',
  },
  'url-scheme': {
    stage: 'url',
    meaning: 'The URL is not ws:// or wss:// (http:// and https:// are accepted by some clients only).',
    fix: 'Use ws:// (plain) or wss:// (TLS); new WebSocket() in older browsers rejects http(s)://.',
  },
  'url-ws-to-tls-port': {
    stage: 'url',
    meaning: 'A ws:// URL points at a port that speaks TLS: the server answered the HTTP request with TLS.',
    fix: 'Use wss:// for this port, or the plain-HTTP port for ws://.',
  },
  'url-wss-to-plain-port': {
    stage: 'url',
    meaning: 'A wss:// URL points at a port that speaks plain HTTP: the TLS handshake got an HTTP answer.',
    fix: 'Use ws:// for this port, or terminate TLS on it (https server or a TLS proxy) for wss://.',
  },
  'dns-not-found': {
    stage: 'dns',
    meaning: 'The host name does not resolve (NXDOMAIN).',
    fix: 'Check the host name for typos, and that its DNS record exists where the client resolves it.',
  },
  'dns-timeout': {
    stage: 'dns',
    meaning: 'The resolver did not answer within the timeout.',
    fix: 'Check the resolver the client machine uses (/etc/resolv.conf, VPN, corporate DNS).',
  },
  'dns-failed': {
    stage: 'dns',
    meaning: 'The resolver failed for another reason (temporary failure, no address of a usable family).',
    fix: 'Retry; check the resolver and that the name has an A or AAAA record.',
  },
  'tcp-refused': {
    stage: 'tcp',
    meaning: 'Nothing listens on that address and port (the connection was refused).',
    fix: 'Start the server, or fix the port: is it listening on this interface (0.0.0.0 vs 127.0.0.1)?',
  },
  'tcp-timeout': {
    stage: 'tcp',
    meaning:
      'No answer to the connection attempt within the timeout: a firewall or security group drops packets.',
    fix: 'Open the port in the firewall / security group / network policy between the client and the server.',
  },
  'tcp-reset': {
    stage: 'tcp',
    meaning: 'The connection was accepted and reset at once, before anything was sent.',
    fix: 'Something on the path refuses the client after connecting (a load balancer without healthy backends, an IP filter, a server at its connection limit).',
  },
  'tcp-closed': {
    stage: 'tcp',
    meaning: 'The connection was accepted and closed at once, before anything was sent.',
    fix: 'The service on that port closes new connections: check its logs and limits, or the port.',
  },
  'tcp-unreachable': {
    stage: 'tcp',
    meaning: 'No route to the host or network.',
    fix: 'Check the address, the VPN or routing, and that the host is up.',
  },
  'tcp-failed': {
    stage: 'tcp',
    meaning: 'The connection failed for another reason (see the detail).',
    fix: 'Check the address and port.',
  },
  'tls-incomplete-chain': {
    stage: 'tls',
    meaning:
      'The server sends its certificate without the intermediate CA: it works in a browser that caches intermediates, fails in Node and curl.',
    fix: 'Configure the full chain: the leaf certificate followed by the intermediate(s) (fullchain.pem).',
  },
  'tls-unknown-ca': {
    stage: 'tls',
    meaning: 'The chain ends at a CA the client does not trust (a private or test CA).',
    fix: 'Trust the CA on the client (Node: NODE_EXTRA_CA_CERTS or the ca option; here: --ca FILE), or use a certificate from a public CA.',
  },
  'tls-self-signed': {
    stage: 'tls',
    meaning: 'The server certificate is self-signed.',
    fix: 'Use a certificate signed by a CA the clients trust, or trust this certificate explicitly (--ca FILE).',
  },
  'tls-cert-expired': {
    stage: 'tls',
    meaning: 'A certificate in the chain has expired.',
    fix: 'Renew the certificate (and check the renewal job, e.g. certbot renew, actually reloads the server).',
  },
  'tls-cert-not-yet-valid': {
    stage: 'tls',
    meaning: 'A certificate in the chain is not valid yet (its notBefore is in the future).',
    fix: 'Check the clock of the client and of the machine that issued the certificate; wait until it is valid.',
  },
  'tls-name-mismatch': {
    stage: 'tls',
    meaning: "The host name is not in the certificate's subjectAltName list.",
    fix: 'Issue the certificate for this name (add it to the SAN list), or connect with a name it lists.',
  },
  'tls-no-shared-version': {
    stage: 'tls',
    meaning: 'Client and server have no TLS protocol version in common.',
    fix: 'Enable TLS 1.2 and 1.3 on the server (minVersion/ssl_protocols).',
  },
  'tls-handshake-failure': {
    stage: 'tls',
    meaning:
      'The server ended the TLS handshake with a handshake_failure alert: usually no shared cipher suite.',
    fix: 'Enable modern cipher suites on the server (ECDHE with AES-GCM or ChaCha20) and TLS 1.2+, and check the key type matches the ciphers.',
  },
  'tls-alpn-h2-only': {
    stage: 'tls',
    meaning:
      'The server offers only h2 in ALPN and refuses http/1.1, the protocol a WebSocket handshake needs.',
    fix: 'Add http/1.1 to the server ALPN list (ALPNProtocols: ["h2", "http/1.1"], or allowHTTP1: true in http2.createSecureServer).',
  },
  'tls-timeout': {
    stage: 'tls',
    meaning: 'The TLS handshake did not finish within the timeout.',
    fix: 'The port accepts connections but does not speak TLS promptly: check it is the TLS port and the server is not overloaded.',
  },
  'tls-closed': {
    stage: 'tls',
    meaning: 'The server closed the connection during the TLS handshake without an alert.',
    fix: 'Check the server logs (tlsClientError) and that this port serves TLS for this host name (SNI).',
  },
  'tls-failed': {
    stage: 'tls',
    meaning: 'The TLS handshake failed for another reason (see the detail).',
    fix: 'See the detail: it carries the OpenSSL error.',
  },
  'http-redirect': {
    stage: 'http',
    meaning:
      'The server answered the handshake with a redirect: browsers and most clients never follow redirects on a WebSocket handshake.',
    fix: 'Point the client at the Location itself (often a trailing slash or http→https), or stop redirecting this path.',
  },
  'http-wsgate-rejection': {
    stage: 'http',
    meaning: 'wsgate rejected the handshake and said why (its code, detail and hint).',
    fix: 'Follow the hint; each code is explained in docs/errors.md.',
  },
  'http-upgrade-required': {
    stage: 'http',
    meaning:
      'The server answered 426 Upgrade Required: the upgrade did not reach it as sent (a proxy stripped Upgrade/Connection) or the version is wrong.',
    fix: 'Forward the upgrade at the proxy (nginx: proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";).',
  },
  'http-spa-fallback': {
    stage: 'http',
    meaning:
      'The server answered 200 with an HTML page: a static file or SPA fallback route answered before the WebSocket endpoint.',
    fix: 'Mount the WebSocket endpoint before the static/SPA fallback, or fix the path (mount prefix).',
  },
  'http-not-websocket': {
    stage: 'http',
    meaning:
      'The server answered 2xx to the handshake: it is not a WebSocket endpoint (or a proxy did not pass the upgrade).',
    fix: 'Check the path, and that the proxy forwards Upgrade and Connection.',
  },
  'http-not-found': {
    stage: 'http',
    meaning: 'The server answered 404: no WebSocket endpoint at this path.',
    fix: 'Check the path and any mount prefix the proxy adds or strips.',
  },
  'http-unauthorized': {
    stage: 'http',
    meaning: 'The server answered 401: the handshake needs credentials.',
    fix: 'Send the credentials the server expects (--header "Authorization: …", a cookie, or a token in the URL).',
  },
  'http-forbidden': {
    stage: 'http',
    meaning: 'The server answered 403: origin policy or authorisation refused the handshake.',
    fix: "Allow the client's Origin on the server, or send the credentials it expects.",
  },
  'http-bad-request': {
    stage: 'http',
    meaning:
      'The server answered 400: it found the handshake malformed (key, version, subprotocol, extensions).',
    fix: 'Read the body in the evidence; compare the probes without the subprotocol.',
  },
  'http-proxy-error': {
    stage: 'http',
    meaning:
      'A proxy answered with its own error page (502/503/504): it could not reach or wait for the app.',
    fix: 'Check the app behind the proxy is running on the address the proxy forwards to, and the proxy timeouts.',
  },
  'http-server-error': {
    stage: 'http',
    meaning: 'The server answered with a 5xx error.',
    fix: "Check the server's logs for this request.",
  },
  'http-unexpected-status': {
    stage: 'http',
    meaning: 'The server answered with a status that is neither 101 nor one of the above.',
    fix: 'Read the status and body in the evidence.',
  },
  'http-no-response': {
    stage: 'http',
    meaning: 'The server closed the connection without answering the handshake.',
    fix: "The server (or a proxy) destroyed the socket: check the server's logs; an 'upgrade' listener that ignores the request does this.",
  },
  'http-timeout': {
    stage: 'http',
    meaning: 'No answer to the handshake within the timeout.',
    fix: "Something accepted the connection but never answered: an 'upgrade' listener that neither answers nor destroys, or a stuck proxy.",
  },
  'http-not-http': {
    stage: 'http',
    meaning: 'The answer is not HTTP (no HTTP/1.x status line): the wrong service listens on that port.',
    fix: 'Check the port: another protocol answers there.',
  },
  'http-response-too-large': {
    stage: 'http',
    meaning: 'The response head is larger than the doctor reads (16 KiB).',
    fix: 'Inspect the response with curl -v: no WebSocket server sends headers this large.',
  },
  'handshake-upgrade-header': {
    stage: 'handshake',
    meaning: 'The 101 lacks "Upgrade: websocket".',
    fix: 'Something between the client and the server rewrote the 101; send Upgrade: websocket.',
  },
  'handshake-connection-header': {
    stage: 'handshake',
    meaning: 'The 101 lacks the "upgrade" token in Connection.',
    fix: 'Send Connection: Upgrade in the 101 (a proxy may have replaced it).',
  },
  'handshake-accept-mismatch': {
    stage: 'handshake',
    meaning:
      "Sec-WebSocket-Accept is missing or not derived from this request's key: an intermediary rewrote or cached the 101, or two servers answered.",
    fix: 'Let one WebSocket library answer the upgrade, and disable caching of the path at any proxy/CDN.',
  },
  'handshake-subprotocol-not-echoed': {
    stage: 'handshake',
    meaning:
      'The client offered subprotocols and the 101 selected none: Chromium and the ws client then fail the connection (Firefox connects).',
    fix: 'Select one of the offered subprotocols on the server (wsgate: protocols option), or stop offering them.',
  },
  'handshake-subprotocol-not-offered': {
    stage: 'handshake',
    meaning: 'The 101 selected a subprotocol the client never offered.',
    fix: 'The server must echo one of the offered tokens exactly (or none when none was offered).',
  },
  'handshake-extension-not-offered': {
    stage: 'handshake',
    meaning: 'The 101 accepted an extension the client never offered.',
    fix: 'The server must only accept extensions the client offered.',
  },
  'open-closed': {
    stage: 'open',
    meaning: 'The server closed the connection right after the handshake or after the first message.',
    fix: 'Read the close code and reason in the evidence; check what the server does on connection and on a message.',
  },
  'open-no-pong': {
    stage: 'open',
    meaning: 'The connection opened but no pong came back for a ping within the timeout.',
    fix: 'The server (or a proxy) does not answer pings: check it runs a WebSocket stack that does.',
  },
  'open-protocol-error': {
    stage: 'open',
    meaning: 'The server sent bytes that are not valid WebSocket frames (masked, reserved bits, bad length).',
    fix: 'Something that is not a WebSocket server is answering after the 101, or a proxy rewrites the stream.',
  },
  'open-idle-closed': {
    stage: 'open',
    meaning:
      'The connection died while idle: a proxy idle timeout (nginx proxy_read_timeout 60 s, AWS ALB 60 s, Cloudflare 100 s).',
    fix: 'Send pings more often than the idle timeout (e.g. every 30 s), or raise the proxy idle timeout (nginx: proxy_read_timeout 1h;).',
  },
  'open-idle-dropped': {
    stage: 'open',
    meaning:
      'After the idle wait, a ping got no pong: the connection was dropped silently (NAT or a firewall forgot it).',
    fix: 'Send pings more often than the idle timeout (e.g. every 30 s) so NAT and firewalls keep the connection.',
  },
} as const satisfies Record<string, Cause>;

/** A stable cause code. */
export type CauseCode = keyof typeof causes;

/** Every cause code, in catalog order. */
export const causeCodes = Object.keys(causes) as CauseCode[];
