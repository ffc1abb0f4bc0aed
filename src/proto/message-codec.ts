/**
 * A typed encoder/decoder for one protobuf message type, driven by protobufjs
 * reflection and strict at the gate:
 * - decoding refuses a missing `required` field, an unknown enum value and a 64-bit
 *   integer beyond ±Number.MAX_SAFE_INTEGER, each with a {@link WireFormatError};
 * - decoded values are plain data: numbers (never Long), `Uint8Array` copies (never
 *   views into the receive buffer), `Map`s for map fields, `[]` for absent repeated
 *   fields, absent optional fields left out;
 * - encoding checks every value against its field's type and range first, so that a
 *   bug never puts a rounded or truncated number on the wire.
 */

import protobuf from 'protobufjs';
import { invariant } from '../raft/errors.ts';
import { fitsIntegerKind, longToSafeNumber, type LongBits } from './wire-integers.ts';
import { WireFormatError, type WireFormatErrorCode } from './wire-format-error.ts';

export interface MessageCodec<T> {
  /** Fully-qualified type name without the leading dot, e.g. `curvefs.metaserver.Inode`. */
  readonly typeName: string;
  encode(value: Encodable<T>): Uint8Array;
  /** Throws {@link WireFormatError} when the bytes are not a valid `T`. */
  decode(bytes: Uint8Array): T;
}

type IsCollection<V> = NonNullable<V> extends readonly unknown[] | ReadonlyMap<unknown, unknown> ? true : false;

/**
 * What an encoder accepts for a decoded type `T`: the same shape, except that
 * repeated and map fields may be left out (they encode as empty).
 */
export type Encodable<T> = T extends Uint8Array
  ? T
  : T extends ReadonlyMap<infer K, infer V>
    ? ReadonlyMap<K, Encodable<V>>
    : T extends readonly (infer E)[]
      ? readonly Encodable<E>[]
      : T extends object
        ? { [K in keyof T as IsCollection<T[K]> extends true ? never : K]: Encodable<T[K]> } & {
            [K in keyof T as IsCollection<T[K]> extends true ? K : never]?: Encodable<T[K]>;
          }
        : T;

type ScalarKind = 'uint32' | 'int32' | 'uint64' | 'int64' | 'bool' | 'string' | 'bytes';
type ValueKind = ScalarKind | 'enum' | 'message';

/** required/optional: proto2 (explicit presence); implicit: proto3 scalar (absent = default). */
type Label = 'required' | 'optional' | 'implicit' | 'repeated' | 'map';

interface FieldPlan {
  readonly name: string;
  readonly id: number;
  readonly label: Label;
  readonly kind: ValueKind;
  readonly keyKind: ScalarKind | null;
  readonly enumValues: ReadonlySet<number> | null;
  readonly messageType: protobuf.Type | null;
}

interface TypePlan {
  readonly typeName: string;
  readonly fields: readonly FieldPlan[];
  /** Field numbers of enum fields: an unknown value of a proto2 enum lands in $unknowns. */
  readonly enumFieldIds: ReadonlyMap<number, string>;
}

const SCALAR_KINDS: ReadonlySet<string> = new Set<ScalarKind>([
  'uint32',
  'int32',
  'uint64',
  'int64',
  'bool',
  'string',
  'bytes',
]);

const plans = new WeakMap<protobuf.Type, TypePlan>();

function typeNameOf(type: protobuf.Type): string {
  return type.fullName.replace(/^\./, '');
}

function scalarKindOf(typeName: string, where: string): ScalarKind {
  // Only the scalar types metaraft's protos use are supported; a new one must be added here.
  invariant(SCALAR_KINDS.has(typeName), `unsupported protobuf scalar type ${typeName} at ${where}`);
  return typeName as ScalarKind;
}

function labelOf(field: protobuf.Field): Label {
  if (field.map) return 'map';
  if (field.repeated) return 'repeated';
  if (field.required) return 'required';
  if (field.resolvedType instanceof protobuf.Type) return 'optional'; // messages always have presence
  return field.hasPresence ? 'optional' : 'implicit';
}

function planField(field: protobuf.Field, where: string): FieldPlan {
  field.resolve();
  const resolved = field.resolvedType;
  const kind: ValueKind =
    resolved instanceof protobuf.Enum
      ? 'enum'
      : resolved instanceof protobuf.Type
        ? 'message'
        : scalarKindOf(field.type, where);
  const keyType = field instanceof protobuf.MapField ? field.keyType : null;
  return {
    name: field.name,
    id: field.id,
    label: labelOf(field),
    kind,
    keyKind: keyType === null ? null : scalarKindOf(keyType, where),
    enumValues: resolved instanceof protobuf.Enum ? new Set(Object.values(resolved.values)) : null,
    messageType: resolved instanceof protobuf.Type ? resolved : null,
  };
}

function planOf(type: protobuf.Type): TypePlan {
  const cached = plans.get(type);
  if (cached !== undefined) return cached;
  const typeName = typeNameOf(type);
  const fields = type.fieldsArray.map((field) => planField(field, `${typeName}.${field.name}`));
  const enumFieldIds = new Map(fields.filter((f) => f.kind === 'enum').map((f) => [f.id, f.name] as const));
  const plan: TypePlan = { typeName, fields, enumFieldIds };
  plans.set(type, plan);
  return plan;
}

// ---------------------------------------------------------------- refusals

/**
 * A refusal found inside a message. Its field path is completed while it unwinds, so
 * that the walk builds no path strings unless something is wrong.
 */
class FieldRefusal extends Error {
  readonly segments: string[] = [];
  constructor(
    readonly code: WireFormatErrorCode,
    readonly detail: string,
  ) {
    super(detail);
  }
}

function withSegment(error: unknown, segment: string): unknown {
  if (error instanceof FieldRefusal) error.segments.unshift(segment);
  return error;
}

function toWireFormatError(error: unknown, root: string): unknown {
  if (!(error instanceof FieldRefusal)) return error;
  return new WireFormatError(error.code, root, error.segments.join('.'), error.detail);
}

// ---------------------------------------------------------------- decoding

/** The default a proto3 scalar takes when absent from the wire. */
function implicitDefault(field: FieldPlan): unknown {
  switch (field.kind) {
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'bytes':
      return new Uint8Array(0);
    default:
      return 0; // numbers, and enums (a proto3 enum's first value is 0)
  }
}

/** The field number of a raw field kept by protobufjs (it starts with the tag varint). */
function fieldNumberOfRawField(raw: Uint8Array): number {
  let tag = 0;
  let weight = 1;
  for (let i = 0; i < raw.length && i < 5; i++) {
    const byte = raw[i]!;
    tag += (byte & 0x7f) * weight;
    if (byte < 0x80) return Math.floor(tag / 8);
    weight *= 128;
  }
  return -1;
}

interface DecodedMessage {
  readonly [field: string]: unknown;
  readonly $unknowns?: readonly Uint8Array[];
}

/** A proto2 enum value protobufjs did not know was set aside as an unknown field. */
function refuseUnknownEnums(plan: TypePlan, message: DecodedMessage): void {
  if (message.$unknowns === undefined || plan.enumFieldIds.size === 0) return;
  for (const raw of message.$unknowns) {
    const fieldName = plan.enumFieldIds.get(fieldNumberOfRawField(raw));
    if (fieldName !== undefined) throw withSegment(new FieldRefusal('UNKNOWN_ENUM', 'unknown enum value'), fieldName);
  }
}

function decodeValue(field: FieldPlan, kind: ValueKind, value: unknown): unknown {
  switch (kind) {
    case 'uint64':
    case 'int64': {
      const result = longToSafeNumber(value as number | LongBits, kind === 'uint64');
      if (result === null) {
        throw new FieldRefusal('UNSAFE_INTEGER', `${String(value)} is beyond Number.MAX_SAFE_INTEGER`);
      }
      return result;
    }
    case 'bytes':
      return new Uint8Array(value as Uint8Array); // a copy: never pin the receive buffer
    case 'enum':
      if (!field.enumValues!.has(value as number)) {
        throw new FieldRefusal('UNKNOWN_ENUM', `unknown enum value ${String(value)}`);
      }
      return value;
    case 'message':
      return decodeMessage(field.messageType!, value as DecodedMessage);
    default:
      return value; // uint32, int32, bool, string: protobufjs gives them exactly
  }
}

function decodeMapKey(field: FieldPlan, key: string): unknown {
  if (field.keyKind === 'string') return key;
  if (field.keyKind === 'bool') return key === 'true';
  // protobufjs keys an integer map by the decimal string of the key.
  const numeric = Number(key);
  if (!fitsIntegerKind(numeric, field.keyKind as 'uint32' | 'int32' | 'uint64' | 'int64')) {
    throw new FieldRefusal('UNSAFE_INTEGER', `map key ${key} is out of range`);
  }
  return numeric;
}

function decodeList(field: FieldPlan, items: readonly unknown[]): unknown[] {
  const result: unknown[] = new Array(items.length);
  let i = 0;
  try {
    for (; i < items.length; i++) result[i] = decodeValue(field, field.kind, items[i]);
  } catch (error) {
    throw withSegment(error, `${field.name}[${i}]`);
  }
  return result;
}

function decodeMap(field: FieldPlan, entries: Record<string, unknown>): Map<unknown, unknown> {
  const result = new Map<unknown, unknown>();
  for (const key of Object.keys(entries)) {
    try {
      result.set(decodeMapKey(field, key), decodeValue(field, field.kind, entries[key]));
    } catch (error) {
      throw withSegment(error, `${field.name}[${key}]`);
    }
  }
  return result;
}

function decodeField(field: FieldPlan, message: DecodedMessage): unknown {
  const present = Object.prototype.hasOwnProperty.call(message, field.name);
  const value = present ? message[field.name] : undefined;
  switch (field.label) {
    case 'repeated':
      return present ? decodeList(field, value as unknown[]) : [];
    case 'map':
      return present ? decodeMap(field, value as Record<string, unknown>) : new Map();
    case 'implicit':
      if (!present) return implicitDefault(field);
      break;
    default:
      if (!present || value === null || value === undefined) return undefined;
  }
  try {
    return decodeValue(field, field.kind, value);
  } catch (error) {
    throw withSegment(error, field.name);
  }
}

function decodeMessage(type: protobuf.Type, message: DecodedMessage): Record<string, unknown> {
  const plan = planOf(type);
  refuseUnknownEnums(plan, message);
  const result: Record<string, unknown> = {};
  for (const field of plan.fields) {
    const value = decodeField(field, message);
    if (value !== undefined) result[field.name] = value;
  }
  return result;
}

/** Turns a protobufjs decode failure into a WireFormatError. */
function decodeFailure(plan: TypePlan, error: unknown): WireFormatError {
  if (error instanceof protobuf.util.ProtocolError) {
    const fieldName = /missing required '([^']+)'/.exec(error.message)?.[1] ?? '';
    const instance = (error as unknown as { instance?: DecodedMessage & { $type?: protobuf.Type } }).instance;
    const instanceType = instance?.$type ?? null;
    if (instance !== undefined && instanceType !== null) {
      const instancePlan = planOf(instanceType);
      // A required enum whose value protobufjs did not know looks "missing": say why.
      const field = instancePlan.fields.find((f) => f.name === fieldName);
      const unknownEnum =
        field?.kind === 'enum' && (instance.$unknowns ?? []).some((raw) => fieldNumberOfRawField(raw) === field.id);
      const where = instancePlan === plan ? '' : ` (in a nested ${instancePlan.typeName})`;
      return new WireFormatError(
        unknownEnum ? 'UNKNOWN_ENUM' : 'MISSING_REQUIRED_FIELD',
        plan.typeName,
        fieldName,
        `${unknownEnum ? 'unknown enum value' : 'missing required field'}${where}`,
        { cause: error },
      );
    }
    return new WireFormatError('MISSING_REQUIRED_FIELD', plan.typeName, fieldName, error.message, { cause: error });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new WireFormatError('MALFORMED', plan.typeName, '', `not a valid message: ${detail}`, { cause: error });
}

// ---------------------------------------------------------------- encoding

function encodeValue(field: FieldPlan, kind: ValueKind, value: unknown): unknown {
  switch (kind) {
    case 'uint32':
    case 'int32':
    case 'uint64':
    case 'int64':
      if (typeof value !== 'number' || !fitsIntegerKind(value, kind)) {
        const unsafe = typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value);
        throw unsafe
          ? new FieldRefusal('UNSAFE_INTEGER', `${value} is beyond Number.MAX_SAFE_INTEGER`)
          : new FieldRefusal('INVALID_FIELD', `${String(value)} is not a ${kind}`);
      }
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw new FieldRefusal('INVALID_FIELD', 'not a boolean');
      return value;
    case 'string':
      if (typeof value !== 'string') throw new FieldRefusal('INVALID_FIELD', 'not a string');
      return value;
    case 'bytes':
      if (!(value instanceof Uint8Array)) throw new FieldRefusal('INVALID_FIELD', 'not a Uint8Array');
      return value;
    case 'enum':
      if (typeof value !== 'number' || !field.enumValues!.has(value)) {
        throw new FieldRefusal('UNKNOWN_ENUM', `unknown enum value ${String(value)}`);
      }
      return value;
    case 'message':
      return encodableMessage(field.messageType!, value);
  }
}

function encodeList(field: FieldPlan, value: unknown): unknown[] {
  if (!Array.isArray(value)) throw withSegment(new FieldRefusal('INVALID_FIELD', 'not an array'), field.name);
  const result: unknown[] = new Array(value.length);
  let i = 0;
  try {
    for (; i < value.length; i++) result[i] = encodeValue(field, field.kind, value[i]);
  } catch (error) {
    throw withSegment(error, `${field.name}[${i}]`);
  }
  return result;
}

function encodeMap(field: FieldPlan, value: unknown): Record<string, unknown> {
  if (!(value instanceof Map)) throw withSegment(new FieldRefusal('INVALID_FIELD', 'not a Map'), field.name);
  // No prototype: a key named "__proto__" must stay an ordinary entry.
  const entries: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, item] of value) {
    try {
      encodeValue(field, field.keyKind!, key);
      // protobufjs takes map keys as an object's (string) keys.
      entries[String(key)] = encodeValue(field, field.kind, item);
    } catch (error) {
      throw withSegment(error, `${field.name}[${String(key)}]`);
    }
  }
  return entries;
}

function encodableMessage(type: protobuf.Type, value: unknown): Record<string, unknown> {
  const plan = planOf(type);
  if (typeof value !== 'object' || value === null) throw new FieldRefusal('INVALID_FIELD', 'not an object');
  const source = value as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  for (const field of plan.fields) {
    const item = source[field.name];
    if (item === undefined || item === null) {
      if (field.label === 'required') {
        throw withSegment(new FieldRefusal('MISSING_REQUIRED_FIELD', 'missing required field'), field.name);
      }
      continue;
    }
    if (field.label === 'repeated') result[field.name] = encodeList(field, item);
    else if (field.label === 'map') result[field.name] = encodeMap(field, item);
    else {
      try {
        result[field.name] = encodeValue(field, field.kind, item);
      } catch (error) {
        throw withSegment(error, field.name);
      }
    }
  }
  return result;
}

// ---------------------------------------------------------------- the codec

/** Builds the codec of one message type of a resolved Root. */
export function createMessageCodec<T>(type: protobuf.Type): MessageCodec<T> {
  const plan = planOf(type);
  return {
    typeName: plan.typeName,
    encode(value: Encodable<T>): Uint8Array {
      let encodable: Record<string, unknown>;
      try {
        encodable = encodableMessage(type, value);
      } catch (error) {
        throw toWireFormatError(error, plan.typeName);
      }
      return type.encode(encodable).finish();
    },
    decode(bytes: Uint8Array): T {
      const reader = protobuf.Reader.create(bytes);
      // Keep unknown fields: a proto2 enum value we do not know is set aside there.
      reader.discardUnknown = false;
      let message: DecodedMessage;
      try {
        message = type.decode(reader) as unknown as DecodedMessage;
      } catch (error) {
        throw decodeFailure(plan, error);
      }
      try {
        return decodeMessage(type, message) as T;
      } catch (error) {
        throw toWireFormatError(error, plan.typeName);
      }
    },
  };
}
