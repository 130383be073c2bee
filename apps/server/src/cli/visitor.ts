/** `postern visitor export` and `postern visitor erase`: a visitor's data, out or gone. */
import { isId } from '@postern/protocol';
import type { DialogRecord, MessageRecord, VisitorData } from '../store/types.js';
import { CliError, UsageError } from './args.js';
import type { CommandRun } from './command.js';
import type { visitorOptions } from './commands.js';
import { loadCliConfig, perform } from './context.js';

function visitorId(id: string): string {
  if (!isId(id))
    throw new UsageError('--visitor must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -');
  return id;
}

function dialogJson(dialog: DialogRecord) {
  return {
    dialog_id: dialog.id,
    site_id: dialog.siteId,
    state: dialog.state,
    handoff: dialog.handoff,
    operator: dialog.holder === null ? null : { id: dialog.holder.id, name: dialog.holder.name },
    created_at: dialog.createdAt,
    last_seq: dialog.lastSeq,
    last_message_at: dialog.lastMessageAt,
  };
}

function messageJson(message: MessageRecord) {
  return {
    dialog_id: message.dialogId,
    seq: message.seq,
    id: message.id,
    client_msg_id: message.clientMsgId,
    sender: message.sender,
    sender_id: message.senderId,
    text: message.text,
    ts: message.ts,
  };
}

/** The export document: the wire's field names (snake case, epoch milliseconds). */
export function exportJson(data: VisitorData, exportedAt: number) {
  const { visitor } = data;
  return {
    exported_at: exportedAt,
    visitor: {
      visitor_id: visitor.id,
      site_id: visitor.siteId,
      origin: visitor.origin,
      created_at: visitor.createdAt,
    },
    refresh_families: data.families.map((family) => ({
      family_id: family.id,
      origin: family.origin,
      created_at: family.createdAt,
      revoked_at: family.revokedAt,
    })),
    dialogs: data.dialogs.map(dialogJson),
    messages: data.messages.map(messageJson),
  };
}

export const runVisitorExport: CommandRun<typeof visitorOptions> = async (options, context) => {
  const id = visitorId(options.visitor);
  const config = loadCliConfig(context);
  const { result } = await perform(
    config,
    context,
    { op: 'export_visitor', visitorId: id },
    { create: false, timeoutMs: 0 },
  );
  if (result === null) throw new CliError(`no visitor ${id}`);
  context.out(`${JSON.stringify(exportJson(result, context.now()), null, 2)}\n`);
};

export const runVisitorErase: CommandRun<typeof visitorOptions> = async (options, context) => {
  const id = visitorId(options.visitor);
  const config = loadCliConfig(context);
  const { result, via } = await perform(
    config,
    context,
    { op: 'erase_visitor', visitorId: id },
    { create: false, timeoutMs: 0 },
  );
  if (result === null) throw new CliError(`no visitor ${id}`);
  const where = via === 'server' ? 'through the running server' : `in ${config.db}`;
  context.out(
    `Erased visitor ${id} ${where}: ${result.messages} messages, ${result.dialogs} dialogs, ` +
      `${result.families} refresh families deleted; the visitor is revoked.\n`,
  );
};
