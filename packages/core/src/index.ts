/**
 * @wsgate/core — the framework-free WebSocket handshake decisions behind every wsgate adapter.
 *
 * @packageDocumentation
 */
export {
  type CatalogEntry,
  catalog,
  catalogCodes,
  type Fault,
  type HandshakeErrorCode,
  isCatalogCode,
} from './catalog.js';
export {
  type ConnectionIdentity,
  closeCodeOf,
  isProtocolError,
  type OpenWebSocket,
  watchErrors,
} from './connection.js';
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
} from './gate.js';
export { isToken, isValidHeader, parseList, RequestHeaders } from './headers.js';
export { type ParsedHost, parseHost } from './host.js';
export {
  ACCEPTED_MESSAGE,
  CONNECTION_ERROR_MESSAGE,
  type ConnectionErrorRecord,
  HANDSHAKE_CHANNEL,
  type HandshakeRecord,
  type Logger,
  REJECTED_MESSAGE,
  reportConnectionError,
  reportHandshake,
} from './logging.js';
export { guardSocket, writeRawResponse } from './node.js';
export {
  type AttachOptions,
  type HandshakeHook,
  type HandshakeInfo,
  type ProtocolSelector,
  type ResolvedOptions,
  resolveOptions,
  type WsGateOptions,
} from './options.js';
export { type OriginPolicy, type OriginPredicate, type ParsedOrigin, parseOrigin } from './origin.js';
export { type Arrival, type HandshakeRequest, pathOf, readRequest } from './request.js';
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
  attachUpgradeDispatch,
  type CompleteUpgrade,
  completeUpgrade,
  type HoldUpgradeResponse,
  hasUpgradeDispatch,
  holdUpgradeResponse,
  type SettleHandshake,
  settleHandshake,
  UNCLAIMED_UPGRADE_GRACE_MS,
  type UpgradeConnection,
  type UpgradeHandler,
  upgradeConnectionOf,
} from './upgrade.js';
export { checkRequest, hasWebSocketSigns } from './validate.js';
export {
  checkWsSettings,
  handleProtocols,
  prepareForWs,
  RESERVED_WS_OPTIONS,
  type ReservedWsOption,
  wsServerOptions,
} from './ws-glue.js';
