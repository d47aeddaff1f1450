/**
 * @wsgate/core/node — the Node and ws glue every wsgate adapter shares: reading an
 * `IncomingMessage`, the upgrade dispatcher and its real `ServerResponse`, settling a handshake on
 * the raw socket or through the framework, handing it to ws, and the open connection's error
 * listener. The decisions themselves are `@wsgate/core`'s.
 *
 * @packageDocumentation
 */
export {
  type ConnectionIdentity,
  closeCodeOf,
  closingBy,
  idleHint,
  isProtocolError,
  type OpenWebSocket,
  type SupervisedWebSocket,
  type Supervision,
  superviseConnection,
  watchErrors,
} from './connection.js';
export {
  adoptUpgradeRequest,
  attachUpgradeDispatch,
  claimUpgrade,
  type DispatchSettings,
  drainServer,
  hasUpgradeDispatch,
  type LeaveUpgrades,
  registerEndpoint,
  serverLogger,
  tagUpgrades,
  type UpgradeConnection,
  upgradeConnectionOf,
  upgradesTagged,
} from './dispatcher.js';
export {
  type ClosableWebSocket,
  type CloseOptions,
  type EndpointHandle,
  endpointHandle,
} from './endpoint.js';
export {
  type CompleteUpgrade,
  completeUpgrade,
  type SettleHandshake,
  serverOf,
  settleHandshake,
  type UpgradeHandler,
} from './handshake.js';
export { type FrameworkRequest, readRequest } from './request.js';
export { closeAfterFlush, guardSocket, writeRawResponse } from './socket.js';
export { missingRequiredHeaders, notFoundError } from './unclaimed.js';
export { UpgradeResponse, type UpgradeResponseOwner } from './upgrade-response.js';
export {
  checkWsSettings,
  RESERVED_WS_OPTIONS,
  type ReservedWsOption,
  wsRequestView,
  wsServerOptions,
} from './ws.js';
