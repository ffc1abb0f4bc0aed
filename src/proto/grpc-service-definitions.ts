/**
 * gRPC service definitions in the form @grpc/grpc-js serves and calls, built from the
 * protobufjs reflection: path `/<package>.<Service>/<Method>`, streaming flags from the
 * .proto, and the strict codecs of message-codec.ts as (de)serializers.
 *
 * Two flavours, because the two ends treat a malformed message differently:
 * - the server's request deserializer never throws: it hands the handler a
 *   {@link DecodeResult}, so that a bad request is answered PARAM_ERROR (wire.md)
 *   instead of grpc-js failing the call with INTERNAL;
 * - the client's response deserializer throws WireFormatError (the call fails).
 */

import type { MethodDefinition } from '@grpc/grpc-js';
import type { Encodable, MessageCodec } from './message-codec.ts';
import { messageCodec } from './message-registry.ts';
import { protoRoot } from './proto-root.ts';
import {
  SERVICES,
  methodPath,
  type MethodName,
  type RequestOf,
  type ResponseOf,
  type ServiceName,
} from './service-registry.ts';
import { WireFormatError } from './wire-format-error.ts';
import { invariant } from '../raft/errors.ts';

/** A request as a server handler receives it: decoded, or the reason it could not be. */
export type DecodeResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: WireFormatError };

/** What a server handler receives for method M of service S. */
export type ServerRequest<S extends ServiceName, M extends MethodName<S>> = DecodeResult<RequestOf<S, M>>;
/** What a server handler answers for method M of service S. */
export type ServerResponse<S extends ServiceName, M extends MethodName<S>> = Encodable<ResponseOf<S, M>>;

export type ServerServiceDefinition<S extends ServiceName> = {
  readonly [M in MethodName<S>]: MethodDefinition<ServerRequest<S, M>, ServerResponse<S, M>>;
};

export type ClientServiceDefinition<S extends ServiceName> = {
  readonly [M in MethodName<S>]: MethodDefinition<Encodable<RequestOf<S, M>>, ResponseOf<S, M>>;
};

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes without throwing: a WireFormatError becomes a failed result; anything else is a bug. */
export function decodeResult<T>(codec: MessageCodec<T>, bytes: Uint8Array): DecodeResult<T> {
  try {
    return { ok: true, value: codec.decode(bytes) };
  } catch (error) {
    if (error instanceof WireFormatError) return { ok: false, error };
    throw error;
  }
}

interface MethodShape {
  readonly name: string;
  readonly originalName: string;
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly request: MessageCodec<unknown>;
  readonly response: MessageCodec<unknown>;
}

function methodShapes(service: ServiceName): MethodShape[] {
  const reflected = protoRoot().lookupService(service);
  const table: Record<string, readonly [string, string]> = SERVICES[service];
  return reflected.methodsArray.map((method) => {
    const entry = table[method.name];
    // The TypeScript table and the .proto must name the same methods and types.
    invariant(entry !== undefined, `${service}.${method.name} is missing from SERVICES`);
    invariant(
      method.resolvedRequestType?.fullName === `.${entry[0]}` && method.resolvedResponseType?.fullName === `.${entry[1]}`,
      `${service}.${method.name}: SERVICES disagrees with the .proto about its message types`,
    );
    return {
      name: method.name,
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
      path: methodPath(service, method.name),
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      request: messageCodec(entry[0] as never) as MessageCodec<unknown>,
      response: messageCodec(entry[1] as never) as MessageCodec<unknown>,
    };
  });
}

/** The definition a grpc-js Server serves (`server.addService(definition, handlers)`). */
export function serverServiceDefinition<S extends ServiceName>(service: S): ServerServiceDefinition<S> {
  const definition: Record<string, MethodDefinition<DecodeResult<unknown>, unknown>> = {};
  for (const shape of methodShapes(service)) {
    definition[shape.name] = {
      path: shape.path,
      originalName: shape.originalName,
      requestStream: shape.requestStream,
      responseStream: shape.responseStream,
      requestSerialize: (result) => {
        invariant(result.ok, 'a failed decode is never sent');
        return toBuffer(shape.request.encode(result.value as never));
      },
      requestDeserialize: (bytes) => decodeResult(shape.request, bytes),
      responseSerialize: (value) => toBuffer(shape.response.encode(value as never)),
      responseDeserialize: (bytes) => shape.response.decode(bytes),
    };
  }
  return definition as unknown as ServerServiceDefinition<S>;
}

/** The definition a grpc-js client is made from (`makeGenericClientConstructor(definition, ...)`). */
export function clientServiceDefinition<S extends ServiceName>(service: S): ClientServiceDefinition<S> {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const shape of methodShapes(service)) {
    definition[shape.name] = {
      path: shape.path,
      originalName: shape.originalName,
      requestStream: shape.requestStream,
      responseStream: shape.responseStream,
      requestSerialize: (value) => toBuffer(shape.request.encode(value as never)),
      requestDeserialize: (bytes) => shape.request.decode(bytes),
      responseSerialize: (value) => toBuffer(shape.response.encode(value as never)),
      responseDeserialize: (bytes) => shape.response.decode(bytes),
    };
  }
  return definition as unknown as ClientServiceDefinition<S>;
}
