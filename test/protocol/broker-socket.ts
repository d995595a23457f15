/**
 * Test only: a minimal size-prefixed request/response exchange over node:net, enough to talk to
 * the real broker with the generated codecs (the transport layer proper lives elsewhere).
 */
import { connect, type Socket } from "node:net";
import type { ApiCodec } from "../../src/protocol/api.ts";
import { decodeResponse, encodeRequest, peekCorrelationId } from "../../src/protocol/frame.ts";

export class BrokerSocket {
  private buffered = Buffer.alloc(0);
  private waiting = new Map<number, (frame: Uint8Array) => void>();
  private nextId = 1;

  private readonly socket: Socket;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (this.buffered.length < 4 + size) break;
        const frame = new Uint8Array(this.buffered.subarray(4, 4 + size));
        this.buffered = this.buffered.subarray(4 + size);
        const id = peekCorrelationId(frame);
        this.waiting.get(id)?.(frame);
        this.waiting.delete(id);
      }
    });
  }

  static open(host = "127.0.0.1", port = 9092): Promise<BrokerSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.once("error", reject);
      socket.once("connect", () => resolve(new BrokerSocket(socket)));
    });
  }

  send<Req, Res>(api: ApiCodec<Req, Res>, version: number, body: Req, timeoutMs = 20_000): Promise<Res> {
    const id = this.nextId++;
    const frame = encodeRequest(api, version, id, "tributary-protocol-test", body);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${api.name} v${version}: no answer in ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(id, (response) => {
        clearTimeout(timer);
        try {
          resolve(decodeResponse(api, version, response).body);
        } catch (error) {
          reject(error as Error);
        }
      });
      this.socket.write(frame);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
