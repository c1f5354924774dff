/**
 * Throughput sanity check of the embedded NATS server (prints numbers, asserts nothing).
 * Run: node --import tsx test/helpers/nats-throughput.ts [count] [payloadBytes]
 */
import { connect } from 'nats';
import { silentLogger } from '../../src/logging/logger';
import { connectInProcess } from '../../src/nats/embedded';
import { startServer } from './nats-helpers';

const N = Number(process.argv[2] ?? 500_000);
const SIZE = Number(process.argv[3] ?? 128);

function rate(label: string, n: number, ms: number): void {
  console.log(`${label.padEnd(44)} ${Math.round((n / ms) * 1000).toLocaleString().padStart(12)} msgs/s  (${n} in ${ms.toFixed(0)} ms)`);
}

async function main(): Promise<void> {
  const s = await startServer({}, silentLogger);
  const payload = new Uint8Array(SIZE).fill(97);
  const url = `127.0.0.1:${s.port}`;

  // 1. socket → socket (nats.js publisher and subscriber on separate connections)
  {
    const pub = await connect({ servers: url });
    const sub = await connect({ servers: url });
    let got = 0;
    const done = new Promise<void>((resolve) =>
      sub.subscribe('bench.sock', { callback: () => ++got === N && resolve() }),
    );
    await sub.flush();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      pub.publish('bench.sock', payload);
      if ((i & 0x3fff) === 0) await pub.flush();
    }
    await done;
    rate('socket pub → socket sub (nats.js)', N, performance.now() - t0);
    await pub.close();
    await sub.close();
  }

  // 2. in-process → socket subscriber
  {
    const ip = connectInProcess(s, 'bench');
    const sub = await connect({ servers: url });
    let got = 0;
    const done = new Promise<void>((resolve) => sub.subscribe('bench.ip2sock', { callback: () => ++got === N && resolve() }));
    await sub.flush();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      ip.publish('bench.ip2sock', payload);
      // Yield now and then so the batched writes go out (as a real server's loop would).
      if ((i & 0x3fff) === 0) await new Promise((r) => setImmediate(r));
    }
    await done;
    rate('in-process pub → socket sub', N, performance.now() - t0);
    await sub.close();
    await ip.close();
  }

  // 3. socket → in-process subscriber
  {
    const ip = connectInProcess(s, 'bench');
    const pub = await connect({ servers: url });
    let got = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    ip.subscribe('bench.sock2ip', () => {
      if (++got === N) resolveDone();
    });
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      pub.publish('bench.sock2ip', payload);
      if ((i & 0x3fff) === 0) await pub.flush();
    }
    await done;
    rate('socket pub → in-process sub', N, performance.now() - t0);
    await pub.close();
    await ip.close();
  }

  // 4. in-process → in-process
  {
    const ip = connectInProcess(s, 'bench');
    let got = 0;
    ip.subscribe('bench.ip', () => {
      got++;
    });
    const t0 = performance.now();
    for (let i = 0; i < N; i++) ip.publish('bench.ip', payload);
    rate('in-process pub → in-process sub', got, performance.now() - t0);
    await ip.close();
  }

  // 5. in-process request/reply round trips (sequential)
  {
    const ip = connectInProcess(s, 'bench');
    ip.subscribe('bench.svc', (_s, reply, d) => reply !== undefined && ip.publish(reply, d));
    const M = Math.min(N, 100_000);
    const t0 = performance.now();
    for (let i = 0; i < M; i++) await ip.request('bench.svc', payload, 1000);
    rate('in-process request/reply (sequential)', M, performance.now() - t0);
    await ip.close();
  }

  await s.close();
}

void main();
