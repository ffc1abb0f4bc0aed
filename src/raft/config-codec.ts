import { RaftError } from './errors.ts';
import type { ConfigChange, ConfigChangeType } from './types.ts';

/**
 * The payload of a `config` log entry: one byte of change type, then the node id as
 * an unsigned 64-bit little-endian integer (ids are safe integers, checked on decode).
 */
const TYPE_CODES: Record<ConfigChangeType, number> = { 'add-learner': 1, promote: 2, remove: 3 };
const CODE_TYPES: readonly (ConfigChangeType | undefined)[] = [undefined, 'add-learner', 'promote', 'remove'];
const ENCODED_BYTES = 9;

export function encodeConfigChange(change: ConfigChange): Uint8Array {
  const out = new Uint8Array(ENCODED_BYTES);
  const view = new DataView(out.buffer);
  out[0] = TYPE_CODES[change.type];
  view.setUint32(1, change.node % 2 ** 32, true);
  view.setUint32(5, Math.floor(change.node / 2 ** 32), true);
  return out;
}

export function decodeConfigChange(data: Uint8Array): ConfigChange {
  if (data.length !== ENCODED_BYTES) {
    throw new RaftError('CONFIG_CHANGE_REFUSED', `config change payload has ${data.length} bytes, expected ${ENCODED_BYTES}`);
  }
  const type = CODE_TYPES[data[0]!];
  if (type === undefined) throw new RaftError('CONFIG_CHANGE_REFUSED', `unknown config change type ${data[0]}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const node = view.getUint32(1, true) + view.getUint32(5, true) * 2 ** 32;
  if (!Number.isSafeInteger(node) || node <= 0) throw new RaftError('CONFIG_CHANGE_REFUSED', `bad node id ${node}`);
  return { type, node };
}
