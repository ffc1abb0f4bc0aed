import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import {
  CopysetOpStatus,
  DentryFlag,
  FsFileType,
  ManageInodeType,
  MetaStatusCode,
  PartitionStatus,
  PROTO_FILES,
  TxState,
  SERVICES,
  WireFormatError,
  clientServiceDefinition,
  messageCodec,
  protoDirectory,
  protoRoot,
  serverServiceDefinition,
  type MessageName,
  type MessageTypes,
} from '../../src/proto/index.ts';
import {
  META_MESSAGES,
  META_SERVICES,
  RAFT_MESSAGES,
  TX_ENUMS,
  TX_MESSAGES,
  TX_SERVICES,
  WIRE_ENUMS,
  WIRE_MESSAGES,
  WIRE_METHOD_TYPES,
  WIRE_RESERVED,
  WIRE_SERVICES,
  parseEnum,
  parseFields,
  type SpecField,
  type SpecFieldNames,
} from './wire-spec.ts';

// ---------------------------------------------------------------- compile-time: interfaces = wire.md

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type WireMessageName = keyof typeof WIRE_MESSAGES;
type NamesMatch = {
  [N in WireMessageName]: Equal<keyof MessageTypes[N], SpecFieldNames<(typeof WIRE_MESSAGES)[N]>>;
};
type AllTrue<T extends boolean> = [T] extends [true] ? true : false;
// Fails to type-check when an interface's field names differ from wire.md's (tsc runs in CI).
const interfacesMatchWireMd: AllTrue<NamesMatch[WireMessageName]> = true;
type RaftMessageName = keyof typeof RAFT_MESSAGES;
type RaftNamesMatch = {
  [N in RaftMessageName]: Equal<keyof MessageTypes[N], SpecFieldNames<(typeof RAFT_MESSAGES)[N]>>;
};
const raftInterfacesMatchSpec: AllTrue<RaftNamesMatch[RaftMessageName]> = true;
type MetaMessageName = keyof typeof META_MESSAGES;
type MetaNamesMatch = {
  [N in MetaMessageName]: Equal<keyof MessageTypes[N], SpecFieldNames<(typeof META_MESSAGES)[N]>>;
};
const metaInterfacesMatchSpec: AllTrue<MetaNamesMatch[MetaMessageName]> = true;
type TxMessageName = keyof typeof TX_MESSAGES;
type TxNamesMatch = {
  [N in TxMessageName]: Equal<keyof MessageTypes[N], SpecFieldNames<(typeof TX_MESSAGES)[N]>>;
};
const txInterfacesMatchSpec: AllTrue<TxNamesMatch[TxMessageName]> = true;
const registryHasEveryMessage: Equal<MessageName, WireMessageName | RaftMessageName | MetaMessageName | TxMessageName> = true;
// Every curvefs message of the registry is in wire.md, and the other way round.
type CurvefsRegistryName = Extract<MessageName, `curvefs.${string}`>;
const registryMatchesWireMd: Equal<CurvefsRegistryName, WireMessageName> = true;

// ---------------------------------------------------------------- helpers

const SCALAR_TYPES: Readonly<Record<string, string>> = {
  u32: 'uint32',
  u64: 'uint64',
  i64: 'int64',
  int32: 'int32',
  uint64: 'uint64',
  string: 'string',
  bool: 'bool',
  bytes: 'bytes',
};

function packageOf(fullName: string): string {
  // Nested types (CreateCopysetRequest.Copyset) live in the package of their parent.
  return fullName.split('.').filter((part) => /^[a-z]/.test(part)).join('.');
}

/** The fully-qualified name wire.md's type names, resolved in the message's package. */
function expectedTypeName(messageName: string, specType: string): string {
  if (specType.startsWith('common.')) return `.curvefs.${specType}`;
  if (specType.startsWith('metaserver.')) return `.curvefs.${specType}`;
  const nested = `.${messageName}.${specType}`;
  if (protoRoot().lookup(nested) !== null) return nested;
  return `.${packageOf(messageName)}.${specType}`;
}

function describeReflectedField(field: protobuf.Field): Record<string, unknown> {
  field.resolve();
  const label = field.map ? 'map' : field.repeated ? 'repeated' : field.required ? 'required' : 'optional';
  const type =
    field instanceof protobuf.MapField
      ? `map<${field.keyType}, ${field.type}>`
      : field.resolvedType !== null
        ? field.resolvedType.fullName
        : field.type;
  return { id: field.id, name: field.name, type, label };
}

function describeSpecField(messageName: string, field: SpecField): Record<string, unknown> {
  const mapMatch = /^map<(\w+), (\w+)>$/.exec(field.type);
  const type =
    mapMatch !== null
      ? `map<${SCALAR_TYPES[mapMatch[1]!]}, ${SCALAR_TYPES[mapMatch[2]!]}>`
      : (SCALAR_TYPES[field.type] ?? expectedTypeName(messageName, field.type));
  return { id: field.id, name: field.name, type, label: field.label };
}

const wireMessageNames = Object.keys(WIRE_MESSAGES) as WireMessageName[];

// ---------------------------------------------------------------- the .proto files = wire.md

describe('the .proto files match wire.md', () => {
  it('the type-level checks above are in force', () => {
    expect(interfacesMatchWireMd).toBe(true);
    expect(registryMatchesWireMd).toBe(true);
    expect(raftInterfacesMatchSpec).toBe(true);
    expect(metaInterfacesMatchSpec).toBe(true);
    expect(txInterfacesMatchSpec).toBe(true);
    expect(registryHasEveryMessage).toBe(true);
  });

  it.each(Object.keys(RAFT_MESSAGES) as RaftMessageName[])('%s (metaraft.raft): field numbers, names, types', (name) => {
    const type = protoRoot().lookupType(name);
    const reflected = [...type.fieldsArray].sort((a, b) => a.id - b.id).map(describeReflectedField);
    const spec = parseFields(RAFT_MESSAGES[name]).map((field) => describeSpecField(name, field));
    expect(reflected).toEqual(spec);
  });

  it.each(Object.keys(META_MESSAGES) as MetaMessageName[])('%s (metaraft.meta): field numbers, names, types, labels', (name) => {
    const type = protoRoot().lookupType(name);
    const reflected = [...type.fieldsArray].sort((a, b) => a.id - b.id).map(describeReflectedField);
    const spec = parseFields(META_MESSAGES[name]).map((field) => describeSpecField(name, field));
    expect(reflected).toEqual(spec);
  });

  it('every metaraft.meta message is in the spec (nothing extra)', () => {
    const found = (protoRoot().lookup('metaraft.meta') as protobuf.Namespace).nestedArray
      .filter((nested) => nested instanceof protobuf.Type || nested instanceof protobuf.Enum)
      .map((nested) => nested.fullName.slice(1));
    expect(found.sort()).toEqual(Object.keys(META_MESSAGES).sort());
  });

  it.each(Object.keys(META_SERVICES) as (keyof typeof META_SERVICES)[])('service %s: methods, message types and paths', (serviceName) => {
    const service = protoRoot().lookupService(serviceName);
    const methods = service.methodsArray.map((method) => [
      method.name,
      method.resolvedRequestType!.fullName,
      method.resolvedResponseType!.fullName,
      method.requestStream === true,
      method.responseStream === true,
    ]);
    const expected = META_SERVICES[serviceName].map((method) => [method, `.metaraft.meta.${method}Request`, `.metaraft.meta.${method}Response`, false, false]);
    expect(methods).toEqual(expected);
    expect(Object.keys(SERVICES[serviceName])).toEqual([...META_SERVICES[serviceName]]);
    const paths = META_SERVICES[serviceName].map((method) => `/${serviceName}/${method}`);
    const client = clientServiceDefinition(serviceName) as Record<string, { path: string }>;
    const server = serverServiceDefinition(serviceName) as Record<string, { path: string }>;
    expect(Object.values(client).map((method) => method.path)).toEqual(paths);
    expect(Object.values(server).map((method) => method.path)).toEqual(paths);
  });

  it('metaraft.meta.RenameRequest round-trips and refuses a missing required field', () => {
    const codec = messageCodec('metaraft.meta.RenameRequest');
    const request = {
      poolId: 1, copysetId: 2, fsId: 3, srcPartitionId: 4, srcParentInodeId: Number.MAX_SAFE_INTEGER, srcName: 'a',
      dstPartitionId: 5, dstParentInodeId: 6, dstName: 'b', create: { sec: 7, nsec: -8 },
    };
    expect(codec.decode(codec.encode(request))).toEqual(request);
    const { create: _create, ...withoutTime } = request;
    expect(codec.decode(codec.encode(withoutTime))).toEqual(withoutTime);
    expect(() => codec.decode(messageCodec('curvefs.metaserver.Time').encode({ sec: 1, nsec: 1 }))).toThrow(WireFormatError);
  });

  it('are found from this package and loaded', () => {
    const dir = protoDirectory();
    expect(dir.endsWith('proto')).toBe(true);
    expect(PROTO_FILES).toContain('curvefs/metaserver.proto');
    expect(protoRoot().lookupService('curvefs.metaserver.MetaServerService')).toBeTruthy();
  });

  it.each(wireMessageNames)('%s: field numbers, names, types and labels', (name) => {
    const type = protoRoot().lookupType(name);
    const reflected = [...type.fieldsArray].sort((a, b) => a.id - b.id).map(describeReflectedField);
    const spec = parseFields(WIRE_MESSAGES[name]).map((field) => describeSpecField(name, field));
    expect(reflected).toEqual(spec);
    expect(type.oneofsArray).toEqual([]);
  });

  it.each(wireMessageNames)('%s: reserves exactly the numbers wire.md leaves out', (name) => {
    const reserved = (protoRoot().lookupType(name).reserved ?? []).flatMap((range): (number | string)[] => {
      if (typeof range === 'string') return [range];
      const numbers: number[] = [];
      for (let n = range[0]!; n <= range[1]!; n++) numbers.push(n);
      return numbers;
    });
    expect(reserved).toEqual(WIRE_RESERVED[name] ?? []);
  });

  it('repeated scalars are unpacked, as proto2 (CurveFS) encodes them', () => {
    for (const name of wireMessageNames) {
      for (const field of protoRoot().lookupType(name).fieldsArray) {
        if (field.repeated && !field.map && field.resolvedType === null) expect(field.packed, field.name).toBe(false);
      }
    }
  });

  it('every curvefs message and enum is in wire.md (nothing extra)', () => {
    const found: string[] = [];
    const walk = (namespace: protobuf.NamespaceBase): void => {
      for (const nested of namespace.nestedArray) {
        if (nested instanceof protobuf.Type || nested instanceof protobuf.Enum) found.push(nested.fullName.slice(1));
        if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) walk(nested);
      }
    };
    walk(protoRoot().lookup('curvefs') as protobuf.Namespace);
    expect(found.sort()).toEqual([...wireMessageNames, ...Object.keys(WIRE_ENUMS)].sort());
  });

  it.each(Object.keys(WIRE_ENUMS) as (keyof typeof WIRE_ENUMS)[])('enum %s: names and values', (name) => {
    expect(protoRoot().lookupEnum(name).values).toEqual(parseEnum(WIRE_ENUMS[name]));
  });

  it('the TypeScript enum objects equal the .proto enums', () => {
    const pairs: [string, Readonly<Record<string, number>>][] = [
      ['curvefs.metaserver.MetaStatusCode', MetaStatusCode],
      ['curvefs.metaserver.DentryFlag', DentryFlag],
      ['curvefs.metaserver.FsFileType', FsFileType],
      ['curvefs.metaserver.ManageInodeType', ManageInodeType],
      ['curvefs.common.PartitionStatus', PartitionStatus],
      ['curvefs.metaserver.copyset.COPYSET_OP_STATUS', CopysetOpStatus],
    ];
    for (const [name, values] of pairs) expect({ ...values }, name).toEqual(protoRoot().lookupEnum(name).values);
  });

  it.each(Object.keys(WIRE_SERVICES) as (keyof typeof WIRE_SERVICES)[])(
    'service %s: methods, message types and paths',
    (serviceName) => {
      const service = protoRoot().lookupService(serviceName);
      const pkg = packageOf(serviceName);
      const methods = service.methodsArray.map((method) => [
        method.name,
        method.resolvedRequestType!.fullName,
        method.resolvedResponseType!.fullName,
        method.requestStream === true,
        method.responseStream === true,
      ]);
      const expected = WIRE_SERVICES[serviceName].map((method) => {
        const [request, response] = WIRE_METHOD_TYPES[method] ?? [`${method}Request`, `${method}Response`];
        return [method, `.${pkg}.${request}`, `.${pkg}.${response}`, false, false];
      });
      expect(methods).toEqual(expected);
      expect(Object.keys(SERVICES[serviceName])).toEqual([...WIRE_SERVICES[serviceName]]);

      const paths = WIRE_SERVICES[serviceName].map((method) => `/${serviceName}/${method}`);
      const client = clientServiceDefinition(serviceName) as Record<string, { path: string }>;
      const server = serverServiceDefinition(serviceName) as Record<string, { path: string }>;
      expect(Object.values(client).map((method) => method.path)).toEqual(paths);
      expect(Object.values(server).map((method) => method.path)).toEqual(paths);
    },
  );

  it('method paths are exactly CurveFS\'s', () => {
    const metaserver = clientServiceDefinition('curvefs.metaserver.MetaServerService');
    expect(metaserver.GetInode.path).toBe('/curvefs.metaserver.MetaServerService/GetInode');
    expect(metaserver.BatchGetXAttr.path).toBe('/curvefs.metaserver.MetaServerService/BatchGetXAttr');
    const copyset = clientServiceDefinition('curvefs.metaserver.copyset.CopysetService');
    expect(copyset.GetCopysetsStatus.path).toBe('/curvefs.metaserver.copyset.CopysetService/GetCopysetsStatus');
    const cli = clientServiceDefinition('curvefs.metaserver.copyset.CliService2');
    expect(cli.GetLeader.path).toBe('/curvefs.metaserver.copyset.CliService2/GetLeader');
    const raft = clientServiceDefinition('metaraft.raft.RaftTransport');
    expect([raft.Stream.requestStream, raft.Stream.responseStream]).toEqual([true, true]);
    expect([raft.InstallSnapshot.requestStream, raft.InstallSnapshot.responseStream]).toEqual([true, false]);
  });
});

// ---------------------------------------------------------------- round trips (values built from wire.md)

const U32_MAX = 0xffff_ffff;

function enumValues(fullName: string): number[] {
  return Object.values(protoRoot().lookupEnum(fullName).values);
}

const arbitraryCache = new Map<string, fc.Arbitrary<unknown>>();

function scalarArbitrary(type: string): fc.Arbitrary<unknown> | null {
  switch (SCALAR_TYPES[type]) {
    case 'uint32':
      return fc.integer({ min: 0, max: U32_MAX });
    case 'int32':
      return fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
    case 'uint64':
      return fc.oneof(fc.maxSafeNat(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER));
    case 'int64':
      return fc.oneof(fc.maxSafeInteger(), fc.constantFrom(-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
    case 'string':
      return fc.string({ unit: 'grapheme', maxLength: 12 });
    case 'bool':
      return fc.boolean();
    case 'bytes':
      return fc.uint8Array({ maxLength: 12 });
    default:
      return null;
  }
}

/** An arbitrary value of a message, built from its wire.md line. */
function messageArbitrary(name: WireMessageName): fc.Arbitrary<unknown> {
  const cached = arbitraryCache.get(name);
  if (cached !== undefined) return cached;
  const fields = parseFields(WIRE_MESSAGES[name]);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  const requiredKeys: string[] = [];
  for (const field of fields) {
    let value: fc.Arbitrary<unknown>;
    const mapMatch = /^map<(\w+), (\w+)>$/.exec(field.type);
    if (mapMatch !== null) {
      const key = scalarArbitrary(mapMatch[1]!)!;
      const item = scalarArbitrary(mapMatch[2]!)!;
      value = fc.uniqueArray(fc.tuple(key, item), { maxLength: 4, selector: (entry) => entry[0] }).map((e) => new Map(e));
    } else {
      const scalar = scalarArbitrary(field.type);
      if (scalar !== null) value = scalar;
      else {
        const fullName = expectedTypeName(name, field.type).slice(1);
        value =
          fullName in WIRE_ENUMS
            ? fc.constantFrom(...enumValues(fullName))
            : fc.constant(null).chain(() => messageArbitrary(fullName as WireMessageName));
      }
      if (field.label === 'repeated') value = fc.array(value, { maxLength: 3 });
    }
    model[field.name] = value;
    if (field.label !== 'optional') requiredKeys.push(field.name);
  }
  const arbitrary = fc.record(model, { requiredKeys });
  arbitraryCache.set(name, arbitrary);
  return arbitrary;
}

describe('codecs', () => {
  it.each(wireMessageNames)('%s: decode(encode(x)) equals x for random values', (name) => {
    const codec = messageCodec(name);
    fc.assert(
      fc.property(messageArbitrary(name), (value) => {
        const decoded = codec.decode(codec.encode(value as never));
        expect(decoded).toEqual(value);
      }),
      { numRuns: 40 },
    );
  });

  it('decodes into plain data: numbers, Uint8Array copies, Maps, [] for absent lists', () => {
    const codec = messageCodec('curvefs.metaserver.Inode');
    const bytes = codec.encode({
      inodeId: 2 ** 40,
      fsId: 1,
      length: 0,
      ctime: 1,
      ctime_ns: 0,
      mtime: 1,
      mtime_ns: 0,
      atime: 1,
      atime_ns: 0,
      uid: 0,
      gid: 0,
      mode: 0o755,
      nlink: 2,
      type: FsFileType.TYPE_DIRECTORY,
      xattr: new Map([['user.a', Uint8Array.of(1, 2, 3)]]),
    });
    const inode = codec.decode(bytes);
    expect(inode.inodeId).toBe(2 ** 40);
    expect(inode.parent).toEqual([]);
    expect('symlink' in inode).toBe(false);
    const value = inode.xattr.get('user.a')!;
    expect(Object.getPrototypeOf(value)).toBe(Uint8Array.prototype); // not a Buffer view
    expect(value.buffer).not.toBe(bytes.buffer);
    expect([...value]).toEqual([1, 2, 3]);
  });
});

// ---------------------------------------------------------------- bytes from an independent writer

/** A 64-bit value for protobufjs's Writer, from its decimal text (exact beyond 2^53). */
function longOf(text: string, unsigned = false): protobuf.Long {
  const LongClass = protobuf.util.Long as unknown as { fromString(text: string, unsigned?: boolean): protobuf.Long };
  return LongClass.fromString(text, unsigned);
}

const VARINT = 0;
const LENGTH_DELIMITED = 2;
function tag(field: number, wireType: number): number {
  return (field << 3) | wireType;
}

describe('wire bytes match a hand-built encoding', () => {
  it('GetInodeRequest', () => {
    const writer = protobuf.Writer.create();
    writer.uint32(tag(1, VARINT)).uint32(7); // poolId
    writer.uint32(tag(2, VARINT)).uint32(8); // copysetId
    writer.uint32(tag(3, VARINT)).uint32(9); // partitionId
    writer.uint32(tag(4, VARINT)).uint32(1); // fsId
    writer.uint32(tag(5, VARINT)).uint64(longOf('9007199254740991', true)); // inodeId
    writer.uint32(tag(6, VARINT)).uint64(300); // appliedIndex
    writer.uint32(tag(7, VARINT)).bool(true); // supportStreaming
    const bytes = writer.finish();
    const expected = {
      poolId: 7,
      copysetId: 8,
      partitionId: 9,
      fsId: 1,
      inodeId: Number.MAX_SAFE_INTEGER,
      appliedIndex: 300,
      supportStreaming: true,
    };
    const codec = messageCodec('curvefs.metaserver.GetInodeRequest');
    expect(codec.decode(bytes)).toEqual(expected);
    expect(Buffer.from(codec.encode(expected)).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
  });

  it('GetInodeResponse with an Inode holding a map and a repeated field', () => {
    const inode = protobuf.Writer.create();
    const scalars: [number, number][] = [
      [1, 42], [2, 3], [3, 4096], [4, 1700000000], [5, 5], [6, 1700000001], [7, 6], [8, 1700000002], [9, 7],
      [10, 1000], [11, 1001], [12, 0o100644], [13, 1], [14, FsFileType.TYPE_FILE],
    ];
    for (const [field, value] of scalars) inode.uint32(tag(field, VARINT)).uint64(value);
    inode.uint32(tag(16, VARINT)).uint64(77); // rdev
    inode.uint32(tag(19, VARINT)).uint64(1700000100); // dtime
    inode.uint32(tag(21, LENGTH_DELIMITED)).fork(); // xattr entry: key = 1, value = 2
    inode.uint32(tag(1, LENGTH_DELIMITED)).string('user.k');
    inode.uint32(tag(2, LENGTH_DELIMITED)).bytes(Uint8Array.of(0, 255));
    inode.ldelim();
    inode.uint32(tag(22, VARINT)).uint64(1); // parent, unpacked
    inode.uint32(tag(22, VARINT)).uint64(2 ** 33);
    const inodeBytes = inode.finish();

    const response = protobuf.Writer.create();
    response.uint32(tag(1, VARINT)).int32(MetaStatusCode.OK);
    response.uint32(tag(2, LENGTH_DELIMITED)).bytes(inodeBytes);
    response.uint32(tag(3, VARINT)).uint64(12);
    const bytes = response.finish();

    const expected = {
      statusCode: MetaStatusCode.OK,
      inode: {
        inodeId: 42, fsId: 3, length: 4096, ctime: 1700000000, ctime_ns: 5, mtime: 1700000001, mtime_ns: 6,
        atime: 1700000002, atime_ns: 7, uid: 1000, gid: 1001, mode: 0o100644, nlink: 1, type: FsFileType.TYPE_FILE,
        rdev: 77, dtime: 1700000100,
        xattr: new Map([['user.k', Uint8Array.of(0, 255)]]),
        parent: [1, 2 ** 33],
      },
      appliedIndex: 12,
    };
    const codec = messageCodec('curvefs.metaserver.GetInodeResponse');
    expect(codec.decode(bytes)).toEqual(expected);
    expect(Buffer.from(codec.encode(expected)).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
  });

  it('CreatePartitionRequest with map<int32, uint64> (negative key)', () => {
    const info = protobuf.Writer.create();
    info.uint32(tag(1, VARINT)).uint32(1).uint32(tag(2, VARINT)).uint32(2);
    info.uint32(tag(3, VARINT)).uint32(3).uint32(tag(4, VARINT)).uint32(4);
    info.uint32(tag(5, VARINT)).uint64(2 ** 20).uint32(tag(6, VARINT)).uint64(2 ** 21 - 1);
    info.uint32(tag(9, VARINT)).int32(PartitionStatus.READWRITE);
    info.uint32(tag(12, LENGTH_DELIMITED)).fork();
    info.uint32(tag(1, VARINT)).int32(-1).uint32(tag(2, VARINT)).uint64(5);
    info.ldelim();
    info.uint32(tag(13, VARINT)).bool(false);
    const request = protobuf.Writer.create();
    request.uint32(tag(1, LENGTH_DELIMITED)).bytes(info.finish());
    const bytes = request.finish();
    const expected = {
      partition: {
        fsId: 1, poolId: 2, copysetId: 3, partitionId: 4, start: 2 ** 20, end: 2 ** 21 - 1,
        status: PartitionStatus.READWRITE, fileType2inodeNum: new Map([[-1, 5]]), manageFlag: false,
      },
    };
    const codec = messageCodec('curvefs.metaserver.CreatePartitionRequest');
    expect(codec.decode(bytes)).toEqual(expected);
    expect(Buffer.from(codec.encode(expected)).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
  });

  it('CopysetStatusResponse with negative int64 and nested Peers', () => {
    const peer = (id: number, address: string): Uint8Array =>
      protobuf.Writer.create().uint32(tag(1, VARINT)).uint64(id).uint32(tag(2, LENGTH_DELIMITED)).string(address).finish();
    const status = protobuf.Writer.create();
    status.uint32(tag(1, VARINT)).uint32(1);
    status.uint32(tag(2, LENGTH_DELIMITED)).bytes(peer(1, '127.0.0.1:6701:0'));
    status.uint32(tag(3, LENGTH_DELIMITED)).bytes(peer(2, '127.0.0.1:6702:0'));
    status.uint32(tag(4, VARINT)).bool(true);
    const int64s = [5, -1, 7, 8, 9, 10, 11, 12, -Number.MAX_SAFE_INTEGER];
    int64s.forEach((value, i) => status.uint32(tag(5 + i, VARINT)).int64(value));
    status.uint32(tag(14, VARINT)).uint64(3);
    const response = protobuf.Writer.create();
    response.uint32(tag(1, VARINT)).int32(CopysetOpStatus.COPYSET_OP_STATUS_SUCCESS);
    response.uint32(tag(2, LENGTH_DELIMITED)).bytes(status.finish());
    const bytes = response.finish();
    const expected = {
      status: CopysetOpStatus.COPYSET_OP_STATUS_SUCCESS,
      copysetStatus: {
        state: 1, peer: { id: 1, address: '127.0.0.1:6701:0' }, leader: { id: 2, address: '127.0.0.1:6702:0' },
        readonly: true, term: 5, committedIndex: -1, knownAppliedIndex: 7, pendingIndex: 8, pendingQueueSize: 9,
        applyingIndex: 10, firstIndex: 11, lastIndex: 12, diskIndex: -Number.MAX_SAFE_INTEGER, epoch: 3,
      },
    };
    const codec = messageCodec('curvefs.metaserver.copyset.CopysetStatusResponse');
    expect(codec.decode(bytes)).toEqual(expected);
    expect(Buffer.from(codec.encode(expected)).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
  });

  it('CreateCopysetRequest with its nested Copyset message', () => {
    const copyset = protobuf.Writer.create();
    copyset.uint32(tag(1, VARINT)).uint32(1).uint32(tag(2, VARINT)).uint32(100);
    for (const id of [1, 2, 3]) {
      const peer = protobuf.Writer.create().uint32(tag(2, LENGTH_DELIMITED)).string(`10.0.0.${id}:6700:0`).finish();
      copyset.uint32(tag(3, LENGTH_DELIMITED)).bytes(peer);
    }
    const bytes = protobuf.Writer.create().uint32(tag(1, LENGTH_DELIMITED)).bytes(copyset.finish()).finish();
    const expected = {
      copysets: [
        {
          poolId: 1,
          copysetId: 100,
          peers: [1, 2, 3].map((id) => ({ address: `10.0.0.${id}:6700:0` })),
        },
      ],
    };
    const codec = messageCodec('curvefs.metaserver.copyset.CreateCopysetRequest');
    expect(codec.decode(bytes)).toEqual(expected);
    expect(Buffer.from(codec.encode(expected)).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
  });

  it('ignores fields it does not know (a newer CurveFS client may send them)', () => {
    const bytes = protobuf.Writer.create()
      .uint32(tag(1, VARINT)).uint32(1).uint32(tag(2, VARINT)).uint32(2).uint32(tag(3, VARINT)).uint32(3)
      .uint32(tag(4, VARINT)).uint32(4).uint32(tag(5, VARINT)).uint64(5)
      .uint32(tag(23, LENGTH_DELIMITED)).bytes(Uint8Array.of(1, 2, 3)) // reserved: volume extents
      .finish();
    const request = messageCodec('curvefs.metaserver.UpdateInodeRequest').decode(bytes);
    expect(request).toEqual({
      poolId: 1, copysetId: 2, partitionId: 3, fsId: 4, inodeId: 5, xattr: new Map(), parent: [],
    });
  });
});

// ---------------------------------------------------------------- refusals at the gate

function wireError(action: () => unknown): WireFormatError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(WireFormatError);
    return error as WireFormatError;
  }
  throw new Error('expected a WireFormatError');
}

const getInodeRequest = {
  poolId: 1,
  copysetId: 2,
  partitionId: 3,
  fsId: 4,
  inodeId: 5,
};

describe('refusals', () => {
  const codec = messageCodec('curvefs.metaserver.GetInodeRequest');

  function requestWithInodeId(inodeId: protobuf.Long): Uint8Array {
    return protobuf.Writer.create()
      .uint32(tag(1, VARINT)).uint32(1).uint32(tag(2, VARINT)).uint32(2).uint32(tag(3, VARINT)).uint32(3)
      .uint32(tag(4, VARINT)).uint32(4).uint32(tag(5, VARINT)).uint64(inodeId)
      .finish();
  }

  it('a u64 of 2^53 or more on the wire is refused, not rounded', () => {
    for (const text of ['9007199254740992', '9007199254740993', '18446744073709551615']) {
      const error = wireError(() => codec.decode(requestWithInodeId(longOf(text, true))));
      expect(error.code).toBe('UNSAFE_INTEGER');
      expect(error.fieldPath).toBe('inodeId');
      expect(error.messageType).toBe('curvefs.metaserver.GetInodeRequest');
    }
    expect(codec.decode(requestWithInodeId(longOf('9007199254740991', true))).inodeId).toBe(
      Number.MAX_SAFE_INTEGER,
    );
  });

  it('a u64 inside a nested message or list is refused with its path', () => {
    const inode = protobuf.Writer.create().uint32(tag(22, VARINT)).uint64(1)
      .uint32(tag(22, VARINT)).uint64(longOf('9007199254740992', true)).finish();
    const bytes = protobuf.Writer.create().uint32(tag(1, VARINT)).int32(0)
      .uint32(tag(2, LENGTH_DELIMITED)).bytes(inode).finish();
    // The inode lacks its required fields too; refusal of either kind is right, but it must be typed.
    const error = wireError(() => messageCodec('curvefs.metaserver.GetInodeResponse').decode(bytes));
    expect(['UNSAFE_INTEGER', 'MISSING_REQUIRED_FIELD']).toContain(error.code);
    const listBytes = protobuf.Writer.create()
      .uint32(tag(1, VARINT)).uint32(1).uint32(tag(2, VARINT)).uint32(2).uint32(tag(3, VARINT)).uint32(3)
      .uint32(tag(4, VARINT)).uint32(4)
      .uint32(tag(5, VARINT)).uint64(longOf('18446744073709551615', true))
      .finish();
    const listError = wireError(() => messageCodec('curvefs.metaserver.BatchGetInodeAttrRequest').decode(listBytes));
    expect(listError.code).toBe('UNSAFE_INTEGER');
    expect(listError.fieldPath).toBe('inodeId[0]');
  });

  it('an int64 beyond -(2^53 - 1) is refused', () => {
    const bytes = protobuf.Writer.create().uint32(tag(1, VARINT)).uint64(1)
      .uint32(tag(2, VARINT)).int64(longOf('-9007199254740992')).finish();
    expect(wireError(() => messageCodec('curvefs.metaserver.Time').decode(bytes)).code).toBe('UNSAFE_INTEGER');
    const ok = protobuf.Writer.create().uint32(tag(1, VARINT)).uint64(1)
      .uint32(tag(2, VARINT)).int64(-Number.MAX_SAFE_INTEGER).finish();
    expect(messageCodec('curvefs.metaserver.Time').decode(ok)).toEqual({ sec: 1, nsec: -Number.MAX_SAFE_INTEGER });
  });

  it('encoding refuses unsafe, fractional, negative and out-of-range numbers', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ inodeId: 2 ** 53 }, 'UNSAFE_INTEGER'],
      [{ inodeId: -1 }, 'INVALID_FIELD'],
      [{ inodeId: 1.5 }, 'INVALID_FIELD'],
      [{ fsId: 2 ** 32 }, 'INVALID_FIELD'],
      [{ fsId: '4' }, 'INVALID_FIELD'],
      [{ appliedIndex: Number.MAX_SAFE_INTEGER + 2 }, 'UNSAFE_INTEGER'],
    ];
    for (const [patch, code] of cases) {
      expect(wireError(() => codec.encode({ ...getInodeRequest, ...patch } as never)).code).toBe(code);
    }
  });

  it('a missing required field is a MISSING_REQUIRED_FIELD error, decoding and encoding', () => {
    const bytes = protobuf.Writer.create()
      .uint32(tag(1, VARINT)).uint32(1).uint32(tag(2, VARINT)).uint32(2).uint32(tag(3, VARINT)).uint32(3)
      .uint32(tag(4, VARINT)).uint32(4)
      .finish(); // no inodeId
    const error = wireError(() => codec.decode(bytes));
    expect(error.code).toBe('MISSING_REQUIRED_FIELD');
    expect(error.fieldPath).toBe('inodeId');
    expect(error.message).toContain('inodeId');

    const { inodeId: _omitted, ...withoutInodeId } = getInodeRequest;
    expect(wireError(() => codec.encode(withoutInodeId as never)).code).toBe('MISSING_REQUIRED_FIELD');

    // A nested required field: CreateDentryRequest.dentry without its name.
    const dentry = protobuf.Writer.create().uint32(tag(1, VARINT)).uint32(1).uint32(tag(2, VARINT)).uint64(2)
      .uint32(tag(3, VARINT)).uint64(1).finish();
    const create = protobuf.Writer.create()
      .uint32(tag(1, VARINT)).uint32(1).uint32(tag(2, VARINT)).uint32(2).uint32(tag(3, VARINT)).uint32(3)
      .uint32(tag(4, LENGTH_DELIMITED)).bytes(dentry).finish();
    const nested = wireError(() => messageCodec('curvefs.metaserver.CreateDentryRequest').decode(create));
    expect(nested.code).toBe('MISSING_REQUIRED_FIELD');
    expect(nested.message).toContain('name');
  });

  it('the server definition hands a bad request to the handler as a typed error (→ PARAM_ERROR)', () => {
    const definition = serverServiceDefinition('curvefs.metaserver.MetaServerService');
    const bytes = Buffer.from(protobuf.Writer.create().uint32(tag(1, VARINT)).uint32(1).finish());
    const result = definition.GetInode.requestDeserialize(bytes);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('MISSING_REQUIRED_FIELD');
    const good = definition.GetInode.requestDeserialize(Buffer.from(codec.encode(getInodeRequest)));
    expect(good).toEqual({ ok: true, value: getInodeRequest });
  });

  it('an unknown enum value is refused, in a required or an optional field', () => {
    const response = protobuf.Writer.create().uint32(tag(1, VARINT)).int32(99).finish();
    const required = wireError(() => messageCodec('curvefs.metaserver.GetInodeResponse').decode(response));
    expect(required.code).toBe('UNKNOWN_ENUM');
    expect(required.fieldPath).toBe('statusCode');

    const request = protobuf.Writer.create()
      .uint32(tag(1, VARINT)).uint32(1).uint32(tag(2, VARINT)).uint32(2).uint32(tag(3, VARINT)).uint32(3)
      .uint32(tag(4, VARINT)).uint32(4).uint32(tag(6, VARINT)).uint64(1)
      .uint32(tag(7, LENGTH_DELIMITED)).string('a').uint32(tag(8, VARINT)).int32(7) // type: no FsFileType 7
      .finish();
    const optional = wireError(() => messageCodec('curvefs.metaserver.DeleteDentryRequest').decode(request));
    expect(optional.code).toBe('UNKNOWN_ENUM');
    expect(optional.fieldPath).toBe('type');

    expect(
      wireError(() =>
        messageCodec('curvefs.metaserver.CreateManageInodeRequest').encode({
          ...getInodeRequest, uid: 0, gid: 0, mode: 0, manageType: 5 as ManageInodeType,
        }),
      ).code,
    ).toBe('UNKNOWN_ENUM');
  });

  it('truncated or garbled bytes are MALFORMED', () => {
    const good = codec.encode(getInodeRequest);
    expect(wireError(() => codec.decode(good.subarray(0, good.length - 1))).code).toBe('MALFORMED');
    expect(wireError(() => codec.decode(Uint8Array.of(0x0f, 0xff))).code).toBe('MALFORMED');
  });
});

// ---------------------------------------------------------------- metaraft.tx (proto/metaraft/tx.proto)

const TX_INODE = {
  inodeId: 12, fsId: 3, length: 0, ctime: 1, ctime_ns: 2, mtime: 3, mtime_ns: 4, atime: 5, atime_ns: 6,
  uid: 7, gid: 8, mode: 0o100644, nlink: 1, type: FsFileType.TYPE_FILE, xattr: new Map([['user.k', new Uint8Array([1, 2])]]), parent: [1],
};
const TX_ID = { clientId: Number.MAX_SAFE_INTEGER, seq: 2 ** 40 };
const TX_ROUTE = { poolId: 1, copysetId: 2, partitionId: 3, start: 0, end: Number.MAX_SAFE_INTEGER, peers: ['127.0.0.1:6701:0', '127.0.0.1:6702:0'] };
const TX_NAME = { partitionId: 3, parentInodeId: 1, name: 'ä/name' };
const TX_TIME = { sec: 1_700_000_000, nsec: -1 };

/** One value of every metaraft.tx message with every field set. */
const TX_SAMPLES: { [N in TxMessageName]: MessageTypes[N] } = {
  'metaraft.tx.TxId': TX_ID,
  'metaraft.tx.Route': TX_ROUTE,
  'metaraft.tx.NameRef': TX_NAME,
  'metaraft.tx.RenameRequest': { poolId: 1, copysetId: 2, fsId: 3, txId: TX_ID, src: TX_NAME, dst: { ...TX_NAME, name: 'b' }, routes: [TX_ROUTE, { ...TX_ROUTE, partitionId: 4, peers: [] }], time: TX_TIME, ackedBelow: 7 },
  'metaraft.tx.LinkRequest': { poolId: 1, copysetId: 2, fsId: 3, txId: TX_ID, inodeId: 99, dst: TX_NAME, routes: [TX_ROUTE], time: TX_TIME, ackedBelow: 0 },
  'metaraft.tx.CreateRequest': {
    poolId: 1, copysetId: 2, fsId: 3, txId: TX_ID, dst: TX_NAME, inodePartitionId: 4, type: FsFileType.TYPE_SYM_LINK, mode: 0o777, uid: 5, gid: 6,
    rdev: 7, symlink: 'target', routes: [TX_ROUTE], time: TX_TIME, ackedBelow: 8, length: 6,
  },
  'metaraft.tx.UnlinkRequest': { poolId: 1, copysetId: 2, fsId: 3, txId: TX_ID, name: TX_NAME, directory: true, routes: [TX_ROUTE], time: TX_TIME, ackedBelow: 9 },
  'metaraft.tx.TxReply': { statusCode: MetaStatusCode.OK, inode: TX_INODE, appliedIndex: 10 },
  'metaraft.tx.PrepareRequest': { poolId: 1, copysetId: 2, txId: TX_ID, attemptTerm: 3, attemptN: 4, coordinator: TX_ROUTE, fsId: 5, part: new Uint8Array([0, 255, 7]) },
  'metaraft.tx.PrepareResponse': { statusCode: MetaStatusCode.TX_KEY_LOCKED, stamp: 11, appliedIndex: 12, inode: TX_INODE },
  'metaraft.tx.ResolveRequest': { poolId: 1, copysetId: 2, txId: TX_ID, commit: false, stamp: 3, attemptTerm: 4, attemptN: 5 },
  'metaraft.tx.ResolveResponse': { statusCode: MetaStatusCode.OK, appliedIndex: 6 },
  'metaraft.tx.StatusRequest': { poolId: 1, copysetId: 2, partitionId: 3, txId: TX_ID, stamp: 4, attemptTerm: 5, attemptN: 6, askerPoolId: 7, askerCopysetId: 8 },
  'metaraft.tx.StatusResponse': { statusCode: MetaStatusCode.OK, state: TxState.IN_PROGRESS },
};

const txMessageNames = Object.keys(TX_MESSAGES) as TxMessageName[];

describe('metaraft.tx: the .proto file, the TypeScript shapes and the codecs', () => {
  it.each(txMessageNames)('%s: field numbers, names, types, labels', (name) => {
    const type = protoRoot().lookupType(name);
    const reflected = [...type.fieldsArray].sort((a, b) => a.id - b.id).map(describeReflectedField);
    const spec = parseFields(TX_MESSAGES[name]).map((field) => describeSpecField(name, field));
    expect(reflected).toEqual(spec);
  });

  it('every metaraft.tx message and enum is in the spec (nothing extra); TxState equals the .proto enum', () => {
    const found = (protoRoot().lookup('metaraft.tx') as protobuf.Namespace).nestedArray
      .filter((nested) => nested instanceof protobuf.Type || nested instanceof protobuf.Enum)
      .map((nested) => nested.fullName.slice(1));
    expect(found.sort()).toEqual([...txMessageNames, ...Object.keys(TX_ENUMS)].sort());
    expect(protoRoot().lookupEnum('metaraft.tx.TxState').values).toEqual(parseEnum(TX_ENUMS['metaraft.tx.TxState']));
    expect({ ...TxState }).toEqual(protoRoot().lookupEnum('metaraft.tx.TxState').values);
  });

  it('service metaraft.tx.TxService: methods, message types and paths', () => {
    const serviceName = 'metaraft.tx.TxService';
    const table = TX_SERVICES[serviceName];
    const methods = protoRoot().lookupService(serviceName).methodsArray.map((method) => [
      method.name,
      method.resolvedRequestType!.fullName,
      method.resolvedResponseType!.fullName,
      method.requestStream === true,
      method.responseStream === true,
    ]);
    const expected = Object.entries(table).map(([method, [request, response]]) => [method, `.metaraft.tx.${request}`, `.metaraft.tx.${response}`, false, false]);
    expect(methods).toEqual(expected);
    expect(Object.keys(SERVICES[serviceName])).toEqual(Object.keys(table));
    const paths = Object.keys(table).map((method) => `/${serviceName}/${method}`);
    const client = clientServiceDefinition(serviceName) as Record<string, { path: string }>;
    const server = serverServiceDefinition(serviceName) as Record<string, { path: string }>;
    expect(Object.values(client).map((method) => method.path)).toEqual(paths);
    expect(Object.values(server).map((method) => method.path)).toEqual(paths);
  });

  it.each(txMessageNames)('%s: round-trips with every field set, and with the optional fields left out', (name) => {
    const codec = messageCodec(name);
    const full = TX_SAMPLES[name];
    expect(codec.decode(codec.encode(full as never))).toEqual(full);
    const requiredOnly = Object.fromEntries(
      parseFields(TX_MESSAGES[name])
        .filter((field) => field.label === 'required')
        .map((field) => [field.name, (full as unknown as Record<string, unknown>)[field.name]]),
    );
    const repeated = parseFields(TX_MESSAGES[name]).filter((field) => field.label === 'repeated').map((field) => [field.name, []]);
    expect(codec.decode(codec.encode(requiredOnly as never))).toEqual({ ...requiredOnly, ...Object.fromEntries(repeated) });
  });

  it.each(txMessageNames.filter((name) => TX_MESSAGES[name].includes('!')))('%s: a missing required field is refused, decoding and encoding', (name) => {
    const codec = messageCodec(name);
    const first = parseFields(TX_MESSAGES[name]).find((field) => field.label === 'required')!;
    const { [first.name]: _dropped, ...rest } = TX_SAMPLES[name] as unknown as Record<string, unknown>;
    expect(() => codec.encode(rest as never)).toThrow(expect.objectContaining({ code: 'MISSING_REQUIRED_FIELD' }));
    // The bytes a peer that forgot the field would send: the full message minus that field.
    const bytes = withoutField(codec.encode(TX_SAMPLES[name] as never), first.id);
    const refusal = (() => {
      try {
        codec.decode(bytes);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(refusal).toBeInstanceOf(WireFormatError);
    expect(refusal).toMatchObject({ code: 'MISSING_REQUIRED_FIELD', fieldPath: first.name });
  });

  it('the bytes `part` survive exactly (a copy, not a view of the receive buffer)', () => {
    const codec = messageCodec('metaraft.tx.PrepareRequest');
    const part = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
    const bytes = codec.encode({ ...TX_SAMPLES['metaraft.tx.PrepareRequest'], part });
    const decoded = codec.decode(bytes);
    expect(decoded.part).toEqual(part);
    expect(decoded.part.buffer).not.toBe(bytes.buffer);
  });

  it('an unknown TxState is refused', () => {
    const bytes = protoRoot().lookupType('metaraft.tx.StatusResponse').encode({ statusCode: 0, state: 9 }).finish();
    expect(() => messageCodec('metaraft.tx.StatusResponse').decode(bytes)).toThrow(WireFormatError);
  });
});

/** The top-level fields of an encoded message except those numbered `fieldNumber`. */
function withoutField(bytes: Uint8Array, fieldNumber: number): Uint8Array {
  const reader = protobuf.Reader.create(bytes);
  const kept: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const key = reader.uint32();
    reader.skipType(key & 7);
    if (key >>> 3 !== fieldNumber) kept.push(bytes.subarray(start, reader.pos));
  }
  return Buffer.concat(kept);
}
