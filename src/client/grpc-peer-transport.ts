/**
 * The gRPC transport: one grpc-js Client per peer process (`ip:port`), created on first
 * use and closed by close(). Every service (MetaServerService, CopysetService,
 * CliService2) is called through that one Client with the strict codecs of the proto
 * layer, so a peer costs one connection however many services it serves.
 */

import * as grpc from '@grpc/grpc-js';
import {
  clientServiceDefinition,
  type ClientServiceDefinition,
  type Encodable,
  type MethodName,
  type RequestOf,
  type ResponseOf,
  type ServiceName,
} from '../proto/index.ts';
import { grpcTarget } from './peer-address.ts';
import { TransportError, type PeerTransport, type TransportErrorCode } from './peer-transport.ts';

export interface GrpcPeerTransportOptions {
  /** Channel options passed to every grpc-js Client (e.g. keepalive settings). */
  readonly channelOptions?: grpc.ChannelOptions;
  readonly credentials?: grpc.ChannelCredentials;
}

/**
 * grpc-js retries a failed connection with its own backoff (1 s at first); the client
 * does its own retrying across peers, so connection attempts are kept snappy.
 */
const DEFAULT_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
  'grpc.enable_retries': 0,
};

type AnyDefinition = ClientServiceDefinition<ServiceName>;

export class GrpcPeerTransport implements PeerTransport {
  private readonly clients = new Map<string, grpc.Client>();
  private readonly definitions = new Map<ServiceName, AnyDefinition>();
  private closed = false;

  constructor(private readonly options: GrpcPeerTransportOptions = {}) {}

  unary<S extends ServiceName, M extends MethodName<S>>(
    address: string,
    service: S,
    method: M,
    request: Encodable<RequestOf<S, M>>,
    timeoutMs: number,
  ): Promise<ResponseOf<S, M>> {
    if (this.closed) return Promise.reject(new TransportError('RPC_FAILED', address, 'transport closed'));
    const definition = (this.definitionOf(service) as Record<string, grpc.MethodDefinition<unknown, unknown>>)[method];
    if (definition === undefined) {
      return Promise.reject(new TransportError('RPC_FAILED', address, `${service} has no method ${method}`));
    }
    const client = this.clientOf(address);
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        definition.path,
        definition.requestSerialize,
        definition.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + Math.max(1, timeoutMs) },
        (error, value) => {
          if (error) reject(toTransportError(address, error));
          else resolve(value as ResponseOf<S, M>);
        },
      );
    });
  }

  /** The number of open peer connections (one per `ip:port`). */
  get connectionCount(): number {
    return this.clients.size;
  }

  close(): void {
    this.closed = true;
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private clientOf(address: string): grpc.Client {
    const target = grpcTarget(address);
    let client = this.clients.get(target);
    if (client === undefined) {
      client = new grpc.Client(target, this.options.credentials ?? grpc.credentials.createInsecure(), {
        ...DEFAULT_CHANNEL_OPTIONS,
        ...this.options.channelOptions,
      });
      this.clients.set(target, client);
    }
    return client;
  }

  private definitionOf(service: ServiceName): AnyDefinition {
    let definition = this.definitions.get(service);
    if (definition === undefined) {
      definition = clientServiceDefinition(service) as AnyDefinition;
      this.definitions.set(service, definition);
    }
    return definition;
  }
}

function toTransportError(address: string, error: grpc.ServiceError): TransportError {
  // A stopping server cancels the calls it still holds (CANCELLED): the peer dropped the
  // call, exactly as when its connection breaks (UNAVAILABLE); another peer may answer.
  const code: TransportErrorCode =
    error.code === grpc.status.UNAVAILABLE || error.code === grpc.status.CANCELLED
      ? 'UNAVAILABLE'
      : error.code === grpc.status.DEADLINE_EXCEEDED
        ? 'DEADLINE_EXCEEDED'
        : 'RPC_FAILED';
  return new TransportError(code, address, error.details || error.message, { grpcCode: error.code, cause: error });
}
