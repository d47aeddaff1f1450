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
  IDLE_HINT_MIN_MS,
  idleHint,
  isProtocolError,
  type OpenWebSocket,
  type SupervisedWebSocket,
  type Supervision,
  superviseConnection,
  watchErrors,
} from './connection.js';
export {
  DESCRIPTORS_AVAILABLE_MESSAGE,
  type DescriptorProbe,
  isAcceptExhaustion,
  type OpenFilesLimit,
  OUT_OF_DESCRIPTORS_MESSAGE,
  type OutOfDescriptorsRecord,
  outOfDescriptorsHint,
  parseOpenFilesLimit,
  watchDescriptors,
} from './descriptors.js';
export {
  adoptUpgradeRequest,
  attachUpgradeDispatch,
  checkDispatchSettings,
  claimUpgrade,
  type DispatchSettings,
  drainServer,
  hasUpgradeDispatch,
  type LeaveUpgrades,
  limitServerConnections,
  registerEndpoint,
  routeTaggedUpgrades,
  serverConnectionLimit,
  serverLogger,
  stopRoutingTaggedUpgrades,
  tagUpgrades,
  type UpgradeConnection,
  type UpgradeListener,
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
export { type FrameworkRequest, lazyFrameworkRequest, readRequest } from './request.js';
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
