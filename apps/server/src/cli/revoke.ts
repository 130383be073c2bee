/** `postern revoke`: a site, a site token, a visitor or any token, now and for good. */
import { isRevocationTarget } from '../control/protocol.js';
import type { RevocationKind } from '../store/types.js';
import { UsageError } from './args.js';
import type { CommandRun } from './command.js';
import type { revokeOptions } from './commands.js';
import { loadCliConfig, perform } from './context.js';

const TARGETS: readonly {
  option: keyof typeof revokeOptions;
  kind: RevocationKind;
  what: string;
}[] = [
  { option: 'site', kind: 'site', what: 'site' },
  { option: 'site-token', kind: 'jti', what: 'site token' },
  { option: 'visitor', kind: 'visitor', what: 'visitor' },
  { option: 'token', kind: 'jti', what: 'token' },
];

export const runRevoke: CommandRun<typeof revokeOptions> = async (options, context) => {
  const given = TARGETS.filter(({ option }) => options[option] !== undefined);
  const [target] = given;
  if (given.length !== 1 || target === undefined) {
    throw new UsageError('give exactly one of --site, --site-token, --visitor or --token');
  }
  const id = options[target.option];
  if (!isRevocationTarget(target.kind, id)) {
    throw new UsageError(
      target.kind === 'jti'
        ? `--${target.option} must be 1 to 128 printable ASCII characters`
        : `--${target.option} must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -`,
    );
  }
  const config = loadCliConfig(context);
  const { via, result } = await perform(
    config,
    context,
    { op: 'revoke', kind: target.kind, target: id },
    { create: true },
  );
  const done = result.added ? 'Revoked' : 'Already revoked:';
  const where =
    via === 'server'
      ? 'the running server closed its live sockets'
      : `recorded in ${config.db}; a server started on it refuses it`;
  context.out(`${done} ${target.what} ${id} (${where}).\n`);
};
