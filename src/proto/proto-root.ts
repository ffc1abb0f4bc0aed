/**
 * Loads the .proto files of the `proto/` folder into one protobufjs Root, once.
 *
 * The folder is found by walking up from this module, so the same code works from a
 * fresh clone (src/proto/), from a build (dist/src/proto/) and from an installed package.
 */

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { invariant } from '../raft/errors.ts';

/** Every .proto file metaraft serves or speaks, relative to the proto folder. */
export const PROTO_FILES = [
  'curvefs/common.proto',
  'curvefs/metaserver.proto',
  'curvefs/copyset.proto',
  'curvefs/cli2.proto',
  'metaraft/raft.proto',
  'metaraft/meta.proto',
  'metaraft/tx.proto',
] as const;

/** How far up from this module the proto folder may be (src/proto → root is 2; dist adds 1). */
const MAX_PROTO_SEARCH_DEPTH = 6;

/** The file whose presence identifies metaraft's proto folder. */
const PROTO_MARKER = path.join('curvefs', 'metaserver.proto');

let cachedRoot: protobuf.Root | null = null;

/** The absolute path of the `proto/` folder that ships with this package. */
export function protoDirectory(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth <= MAX_PROTO_SEARCH_DEPTH; depth++) {
    const candidate = path.join(dir, 'proto');
    if (existsSync(path.join(candidate, PROTO_MARKER))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`metaraft: cannot find the proto folder (looked for proto/${PROTO_MARKER} above this module)`);
}

/** The Root holding every type and service of {@link PROTO_FILES}, resolved. */
export function protoRoot(): protobuf.Root {
  if (cachedRoot !== null) return cachedRoot;
  const dir = protoDirectory();
  const root = new protobuf.Root();
  // Imports name files relative to the proto folder ("curvefs/common.proto").
  root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(dir, target));
  // keepCase: field names stay exactly as in the .proto files (CurveFS's `ctime_ns`).
  root.loadSync([...PROTO_FILES], { keepCase: true });
  root.resolveAll();
  // Without Long, protobufjs would round 64-bit values to doubles silently.
  invariant(protobuf.util.Long, 'protobufjs must decode 64-bit integers exactly (the long package is missing)');
  cachedRoot = root;
  return root;
}
