/**
 * @wsgate/core — the framework-free WebSocket handshake decisions behind every wsgate adapter.
 *
 * @packageDocumentation
 */
export {
  type CatalogEntry,
  catalog,
  catalogCodes,
  codeForStatus,
  type Fault,
  type HandshakeErrorCode,
  isCatalogCode,
  requiredHeadersFor,
} from './catalog.js';
export {
  type Confidence,
  clientRules,
  type Diagnosis,
  diagnose,
  type Finding,
  factsOf,
  intermediaryRules,
  type RequestFacts,
  type Rule,
} from './diagnosis.js';
export { HandshakeError, type HandshakeErrorInit } from './errors.js';
export {
  checkPerMessageDeflateOffer,
  type ExtensionNegotiation,
  type ExtensionOffer,
  type ExtensionsParse,
  formatExtensions,
  MAX_EXTENSION_OFFERS,
  negotiateExtensions,
  parseExtensions,
} from './extensions.js';
export {
  type AcceptDecision,
  type AdapterInfo,
  createGate,
  type Decision,
  Gate,
  type PassDecision,
  type RejectDecision,
  type ReportExtras,
  type SharedConnectionLimit,
} from './gate.js';
export { isToken, isValidHeader, parseList, RequestHeaders } from './headers.js';
export { type ParsedHost, parseHost } from './host.js';
export {
  ACCEPTED_MESSAGE,
  CLOSED_MESSAGE,
  type ClosedBy,
  CONNECTION_CHANNEL,
  CONNECTION_ERROR_MESSAGE,
  type ConnectionErrorRecord,
  type ConnectionRecord,
  HANDSHAKE_CHANNEL,
  type HandshakeRecord,
  type Logger,
  REJECTED_MESSAGE,
  reportConnection,
  reportConnectionError,
  reportHandshake,
} from './logging.js';
export {
  closestName,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_MS,
  type HandshakeHook,
  type HandshakeInfo,
  type ProtocolSelector,
  type ResolvedOptions,
  resolveOptions,
  type WsGateOptions,
} from './options.js';
export { type OriginPolicy, type OriginPredicate, type ParsedOrigin, parseOrigin } from './origin.js';
export { type Arrival, type HandshakeRequest, pathOf, type Site } from './request.js';
export {
  acceptHeaders,
  computeAcceptKey,
  type HttpResponse,
  type ProblemDocument,
  prefersJson,
  problemType,
  type RenderOptions,
  renderRejection,
} from './response.js';
export {
  MAX_SUBPROTOCOL_LENGTH,
  MAX_SUBPROTOCOLS_OFFERED,
  parseSubprotocols,
  type SubprotocolParse,
  selectSubprotocol,
} from './subprotocols.js';
export {
  type CertificateInfo,
  type CertificateMaterial,
  checkCertificate,
  EXPIRY_WARNING_DAYS,
  explainTlsClientError,
  splitPem,
  TLS_CERTIFICATE_MESSAGE,
  TLS_CLIENT_ERROR_MESSAGE,
  type TlsCertificateCheck,
  type TlsCertificateCode,
  type TlsCertificateFinding,
  type TlsClientErrorCause,
  type TlsClientErrorCode,
  type TlsRecord,
  type WatchTlsOptions,
  watchTlsServer,
} from './tls.js';
export {
  isValidTraceparent,
  MAX_TRACESTATE_LENGTH,
  type TraceContextHeaders,
  traceContextOf,
} from './trace-context.js';
export { checkRequest, hasWebSocketSigns } from './validate.js';
