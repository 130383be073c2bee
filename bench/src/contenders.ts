/** The three servers compared, and how the bench starts the two baselines. */
import { fileURLToPath } from 'node:url';
import { launch, type ServerProcess } from './processes.js';

export const CONTENDERS = ['postern', 'ws', 'socketio'] as const;
export type Contender = (typeof CONTENDERS)[number];

export const LABEL: Readonly<Record<Contender, string>> = Object.freeze({
  postern: 'Postern',
  ws: 'bare ws',
  socketio: 'Socket.IO',
});

const SCRIPTS = {
  ws: fileURLToPath(new URL('./servers/bare-ws.js', import.meta.url)),
  socketio: fileURLToPath(new URL('./servers/socketio.js', import.meta.url)),
};

/** Starts a baseline server on a free port. */
export function startBaseline(name: 'ws' | 'socketio', dir: string): Promise<ServerProcess> {
  return launch({ name, script: SCRIPTS[name], env: { PORT: '0', NODE_ENV: 'production' }, dir });
}

/** One value per contender. */
export type PerContender<T> = Record<Contender, T>;
