// The runtime network smoke: in plain JavaScript so every runtime runs it unchanged. Each runner
// imports the package as that runtime's users do; its default socket factory (registered by the
// runtime's entry point) connects to the real broker and sends hand-built ApiVersions v3 requests.

/** Request header v2 + ApiVersionsRequest v3, correlation id 0 (the connection sets it). */
function apiVersionsMessage() {
  const encoder = new TextEncoder();
  const clientId = encoder.encode("tributary-smoke");
  const compact = (text) => { const bytes = encoder.encode(text); return [bytes.length + 1, ...bytes]; };
  const bytes = [0, 18, 0, 3, 0, 0, 0, 0, clientId.length >> 8, clientId.length & 0xff, ...clientId, 0,
    ...compact("tributary"), ...compact("0.1.0"), 0];
  return new Uint8Array(bytes);
}

function parse(frame) {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  return { correlationId: view.getInt32(0), errorCode: view.getInt16(4), apiCount: frame[6] - 1 };
}

export async function runNetworkSmoke(tributary, host, port, runtime) {
  const connection = await tributary.Connection.connect({ host, port, requestTimeoutMs: 10_000 });
  try {
    const message = apiVersionsMessage();
    const answers = (await Promise.all(Array.from({ length: 20 }, () => connection.request(message)))).map(parse);
    let refused = "none";
    try {
      await tributary.Connection.connect({ host, port: 1, connectTimeoutMs: 5_000 });
    } catch (error) {
      refused = error instanceof tributary.ConnectionError ? `ConnectionError:${error.reason}` : String(error);
    }
    return {
      runtime,
      distinctIds: new Set(answers.map((answer) => answer.correlationId)).size,
      errorCodes: [...new Set(answers.map((answer) => answer.errorCode))],
      apiCountPositive: answers.every((answer) => answer.apiCount > 10),
      refused,
    };
  } finally {
    connection.close();
  }
}
