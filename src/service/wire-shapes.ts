/**
 * Conversion between the wire shapes of MetaServerService messages (the protobuf
 * codecs: map fields as Map, empty repeated fields as []) and the executor's (map
 * fields as plain records, left out when empty). Both are plain data; only the map
 * fields differ.
 */

/** Fields that are protobuf maps on the wire and records in the executor. */
const MAP_FIELDS = new Set(['xattr', 'xAttrInfos', 'fileType2inodeNum']);
/** Map fields whose keys are integers on the wire (map<int32, uint64>). */
const INTEGER_KEYED_MAP_FIELDS = new Set(['fileType2inodeNum']);

/** Wire → executor: Map fields become records; empty maps are left out ("not set"). */
export function toExecutorShape(value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), toExecutorShape(v)]));
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(toExecutorShape);
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field === undefined || (field instanceof Map && field.size === 0)) continue;
    out[key] = toExecutorShape(field);
  }
  return out;
}

/** Executor → wire: record-shaped map fields become Maps; undefined fields are dropped. */
export function toWireShape(value: unknown): unknown {
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(toWireShape);
  if (value instanceof Map) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field === undefined) continue;
    if (MAP_FIELDS.has(key) && field !== null && typeof field === 'object' && !(field instanceof Map) && !Array.isArray(field)) {
      const integerKeys = INTEGER_KEYED_MAP_FIELDS.has(key);
      out[key] = new Map(Object.entries(field).map(([k, v]) => [integerKeys ? Number(k) : k, v]));
    } else {
      out[key] = toWireShape(field);
    }
  }
  return out;
}
