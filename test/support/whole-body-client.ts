import type { Socket } from 'node:net';

/**
 * A client that writes its whole body before it reads anything, as simple HTTP clients do: `head` is the request
 * line plus any headers. Resolves with the answer once the server has answered and the connection ended;
 * rejects after 10 s, which is what an answer the server never sends looks like.
 */
export function sendWholeBody(
  open: () => Socket,
  head: string,
  size: number,
  options: { chunked?: boolean } = {},
): Promise<{ statusLine: string; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = open();
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within 10 s (got ${JSON.stringify(received.slice(0, 60))})`));
    }, 10_000);
    socket.on('data', (d) => (received += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ statusLine: received.split('\r\n')[0], text: received });
    });
    const framing = options.chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${size}`;
    socket.write(`${head}\r\nHost: wharf\r\n${framing}\r\nContent-Type: application/octet-stream\r\n\r\n`);
    const data = Buffer.alloc(64 * 1024, 0x41);
    const chunk = options.chunked ? Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]) : data;
    let sent = 0;
    const pump = () => {
      while (sent < size && !socket.destroyed) {
        sent += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
    };
    pump();
  });
}
