/** Counters of one transport, for monitoring and tests. All only ever grow. */
export interface TransportMetrics {
  /** Batches written to peer streams (keepalives included), and the messages they held. */
  batchesSent: number;
  messagesSent: number;
  keepalivesSent: number;
  /** Batches delivered to the handler (keepalives included), and the messages they held. */
  batchesReceived: number;
  messagesReceived: number;
  keepalivesReceived: number;
  /** Batches acknowledged by peers. */
  batchesAcked: number;
  /** Dropped on the sending side: the stream was down, or the queue overflowed (oldest first). */
  batchesDroppedWhileDown: number;
  messagesDroppedWhileDown: number;
  batchesDroppedQueueFull: number;
  messagesDroppedQueueFull: number;
  /** Sends to a node without a known address. */
  batchesDroppedUnknownPeer: number;
  /** Single messages larger than maxBatchBytes: they cannot travel at all. */
  messagesOversized: number;
  /** Inbound batches that failed decoding (WireFormatError), dropped. */
  batchesMalformed: number;
  /** Inbound batches addressed to another node id, or out of sequence: refused. */
  batchesRefused: number;
  /** Inbound batches that arrived before listen(): dropped. */
  batchesDroppedNoHandler: number;
  /** Streams opened again after a failure, and stream failures seen. */
  reconnects: number;
  streamFailures: number;
  /** peerUnreachable reports made to the handler. */
  unreachableReports: number;
  snapshotsSent: number;
  snapshotsSendFailed: number;
  snapshotsReceived: number;
  snapshotsRefused: number;
}

export function newTransportMetrics(): TransportMetrics {
  return {
    batchesSent: 0,
    messagesSent: 0,
    keepalivesSent: 0,
    batchesReceived: 0,
    messagesReceived: 0,
    keepalivesReceived: 0,
    batchesAcked: 0,
    batchesDroppedWhileDown: 0,
    messagesDroppedWhileDown: 0,
    batchesDroppedQueueFull: 0,
    messagesDroppedQueueFull: 0,
    batchesDroppedUnknownPeer: 0,
    messagesOversized: 0,
    batchesMalformed: 0,
    batchesRefused: 0,
    batchesDroppedNoHandler: 0,
    reconnects: 0,
    streamFailures: 0,
    unreachableReports: 0,
    snapshotsSent: 0,
    snapshotsSendFailed: 0,
    snapshotsReceived: 0,
    snapshotsRefused: 0,
  };
}
