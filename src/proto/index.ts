/**
 * The wire layer: CurveFS-compatible messages and services, metaraft's Raft transport
 * messages, their typed codecs and gRPC service definitions.
 */

export { WireFormatError, type WireFormatErrorCode } from './wire-format-error.ts';
export { PROTO_FILES, protoDirectory, protoRoot } from './proto-root.ts';
export { createMessageCodec, type Encodable, type MessageCodec } from './message-codec.ts';
export { messageCodec, type MessageName, type MessageTypes } from './message-registry.ts';
export {
  META_READ_METHODS,
  SERVICES,
  methodPath,
  type MethodName,
  type RequestOf,
  type ResponseOf,
  type ServiceName,
} from './service-registry.ts';
export {
  clientServiceDefinition,
  decodeResult,
  serverServiceDefinition,
  type ClientServiceDefinition,
  type DecodeResult,
  type ServerRequest,
  type ServerResponse,
  type ServerServiceDefinition,
} from './grpc-service-definitions.ts';
export * from './common-types.ts';
export * from './metaserver-types.ts';
export * from './copyset-types.ts';
export * from './raft-wire-types.ts';
export * from './metaraft-meta-types.ts';
export * from './metaraft-tx-types.ts';
