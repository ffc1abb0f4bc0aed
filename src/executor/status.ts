/**
 * curvefs.metaserver.MetaStatusCode: the status of every MetaServerService response.
 * One definition, with the wire shapes (its numbers are wire format, held to the .proto
 * by test/proto/wire.test.ts).
 */
export { MetaStatusCode } from '../proto/metaserver-types.ts';
