/** `postern serve`: the server in the foreground, exactly as `node dist/main.js` runs it. */
import type { CommandRun } from './command.js';
import type { serveOptions } from './commands.js';

export const runServe: CommandRun<typeof serveOptions> = async (_options, context) => {
  const { main } = await import('../main.js');
  await main(context.env);
};
