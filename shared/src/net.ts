import net from 'node:net';

/**
 * True when something accepts a connection at `target` (a TCP port or a Unix socket) within `ms`: asked
 * before a driver that would retry a refused address for seconds.
 */
export function canConnect(target: net.NetConnectOpts, ms = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(target);
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
